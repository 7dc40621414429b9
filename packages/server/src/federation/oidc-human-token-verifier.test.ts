/** OidcHumanTokenVerifier: ID tokens genuinely issued by oidc-provider after a login, and ID-JAGs, over real HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ID_JAG_TYP, WritError } from '@writ/sdk'
import { fixedClock } from '../clock.js'
import { TrustProviders } from './trust-providers.js'
import { OidcHumanTokenVerifier } from './oidc-human-token-verifier.js'
import { HUMAN_CLIENT_ID, startHumanIdentityProvider, type HumanIdentityProvider } from './human-identity-provider.fixture.js'
import { startExternalIssuer, type ExternalIssuer } from './external-issuer.fixture.js'

const WRIT = 'https://writ.example.com'
const ALGORITHMS = ['RS256', 'ES256'] as ('RS256' | 'ES256')[]

describe('OidcHumanTokenVerifier', () => {
  let idp: HumanIdentityProvider
  let enterprise: ExternalIssuer
  let verifier: OidcHumanTokenVerifier
  let byEmail: OidcHumanTokenVerifier
  const clock = fixedClock(Date.now())

  beforeAll(async () => {
    idp = await startHumanIdentityProvider({ alice: ['sre', 'release-managers'] })
    enterprise = await startExternalIssuer()
    const humanIssuers = [
      { issuer: idp.issuer, audience: HUMAN_CLIENT_ID, userClaim: 'sub', groupsClaim: 'groups', maxLifetimeSeconds: 3_600, algorithms: ALGORITHMS },
      { issuer: enterprise.issuer, audience: 'https://writ.example.com/humans', userClaim: 'sub', groupsClaim: 'groups', maxLifetimeSeconds: 600, algorithms: ALGORITHMS },
    ]
    const deps = { clock, issuer: WRIT, leewaySeconds: 30 }
    verifier = new OidcHumanTokenVerifier({ ...deps, trust: new TrustProviders({ providers: [], humanIssuers, fetchTimeoutMs: 2_000 }, clock) })
    byEmail = new OidcHumanTokenVerifier({
      ...deps, trust: new TrustProviders({ providers: [], humanIssuers: [{ ...humanIssuers[0]!, userClaim: 'email', groupsClaim: undefined }], fetchTimeoutMs: 2_000 }, clock),
    })
  })
  afterAll(async () => { await idp.close(); await enterprise.close() })

  const now = () => clock.nowSeconds()
  const idJag = (over: Record<string, unknown> = {}, typ: string = ID_JAG_TYP) => enterprise.sign({
    sub: 'alice', aud: WRIT, client_id: 'agent-1', jti: crypto.randomUUID(), iat: now(), exp: now() + 300, groups: ['sre'], scope: 'deploy', ...over,
  }, { typ })
  const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => (error as WritError).reasons?.[0] ?? error)

  it('verifies an ID token oidc-provider issued after a real login, with the user and groups it names', async () => {
    const idToken = await idp.login('alice')
    expect(await verifier.verify(idToken, 'id_token', 'agent-1')).toEqual({ issuer: idp.issuer, user: 'alice', groups: ['sre', 'release-managers'] })
  })

  it('takes the user from the configured claim and has no groups without a groups claim', async () => {
    expect(await byEmail.verify(await idp.login('bob'), 'id_token', 'agent-1')).toEqual({ issuer: idp.issuer, user: 'bob@example.com', groups: [] })
  })

  it('verifies an ID-JAG addressed to Writ and issued to the agent that presents it', async () => {
    const token = await idJag({ jti: 'jag-1' })
    expect(await verifier.verify(token, 'id-jag', 'agent-1')).toEqual({ issuer: enterprise.issuer, user: 'alice', groups: ['sre'], jti: 'jag-1' })
  })

  it.each([
    ['an ID-JAG presented by another agent', () => idJag(), 'id-jag', 'id_jag_client_id_mismatch'],
    ['an ID-JAG for another audience', () => idJag({ aud: 'https://writ.example.com/humans' }), 'id-jag', 'external_aud_invalid'],
    ['an ID-JAG without its typ', () => idJag({}, 'JWT'), 'id-jag', 'external_typ_invalid'],
    ['an ID-JAG without jti', () => idJag({ jti: undefined }), 'id-jag', 'external_jti_missing'],
    ['an ID-JAG presented as an ID token', () => idJag({ aud: 'https://writ.example.com/humans' }), 'id_token', 'external_typ_invalid'],
    ['a token over the issuer\'s maximum lifetime', () => idJag({ exp: now() + 3_600 }), 'id-jag', 'external_lifetime_too_long'],
    ['a token of an untrusted issuer', async () => {
      const stranger = await startExternalIssuer()
      try { return await stranger.sign({ sub: 'alice', aud: WRIT, iat: now(), exp: now() + 60 }) } finally { await stranger.close() }
    }, 'jwt', 'human_issuer_untrusted'],
    ['a human token without groups of the right shape', () => enterprise.sign({ sub: 'alice', aud: 'https://writ.example.com/humans', iat: now(), exp: now() + 60, groups: 'sre' }), 'jwt', 'human_groups_claim_invalid'],
  ] as const)('refuses %s', async (_name, make, kind, reason) => {
    const clientId = _name.includes('another agent') ? 'agent-2' : 'agent-1'
    expect(await refusal(verifier.verify(await make(), kind, clientId))).toBe(reason)
  })

  it('refuses an ID token for another audience (an ID token is for the client it was issued to)', async () => {
    const strict = new OidcHumanTokenVerifier({
      clock, issuer: WRIT, leewaySeconds: 30,
      trust: new TrustProviders({ providers: [], humanIssuers: [{ issuer: idp.issuer, audience: 'someone-else', userClaim: 'sub', maxLifetimeSeconds: 3_600, algorithms: ALGORITHMS }], fetchTimeoutMs: 2_000 }, clock),
    })
    expect(await refusal(strict.verify(await idp.login('alice'), 'id_token', 'agent-1'))).toBe('external_aud_invalid')
  })
})
