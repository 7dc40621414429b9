/** Hostile battery for federated client authentication: every case is invalid_client, no token, the reason audited only. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SignJWT } from 'jose'
import { CLIENT_ASSERTION_TYPE, GRANT_TYPES } from '@writ/sdk'
import { createTestApp, type TestApp } from '../test-app.fixture.js'
import type { Agent } from '../agents/agent-document.js'
import { GH_AUDIENCE, githubActionsClaims, K8S_AUDIENCE, kubernetesClaims, registerFederated as register, startExternalIssuer, type ExternalIssuer } from './external-issuer.fixture.js'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

describe('federated client authentication hostile battery', () => {
  let gh: ExternalIssuer
  let k8s: ExternalIssuer
  let stranger: ExternalIssuer
  let t: TestApp
  let ghAgent: Agent
  let k8sAgent: Agent
  let listener: Server
  let listenerHits = 0
  let listenerUrl: string

  beforeAll(async () => {
    gh = await startExternalIssuer()
    k8s = await startExternalIssuer()
    stranger = await startExternalIssuer()
    listener = createServer((_, res) => { listenerHits++; res.end('{}') })
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r))
    listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/jwks`
    t = await createTestApp({
      config: {
        trust: {
          providers: [
            { name: 'github', issuer: gh.issuer, audience: GH_AUDIENCE, kind: 'github-actions' },
            { name: 'cluster', issuer: k8s.issuer, audience: K8S_AUDIENCE, kind: 'kubernetes', singleUse: true },
          ],
        },
      },
    })
    ghAgent = await register(t, 'gh-deployer', [{
      provider: 'github', subject: 'repo:octo-org/octo-repo:environment:prod',
      claims: { repository: 'octo-org/octo-repo', ref: 'refs/heads/main', environment: 'prod' },
    }])
    k8sAgent = await register(t, 'k8s-deployer', [{
      provider: 'cluster', subject: 'system:serviceaccount:payments:deployer', claims: { 'kubernetes.io': { namespace: 'payments' } },
    }])
  })
  afterAll(async () => { await t.close(); await gh.close(); await k8s.close(); await stranger.close(); listener.close() })

  const now = () => t.clock.nowSeconds()
  const ghClaims = (over: Record<string, unknown> = {}) => githubActionsClaims(now(), GH_AUDIENCE, over)
  const request = (agent: Agent, assertion: string) => t.token({
    grant_type: 'client_credentials', client_id: agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion,
    authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]), task_id: 'T-7',
  })

  const cases: Array<[string, () => Promise<string>, string, ('k8s' | undefined)?]> = [
    ['an untrusted issuer (not configured)', () => stranger.sign(ghClaims()), 'assertion_malformed:alg_not_allowed'],
    ['a trusted issuer\'s name in a token signed by another issuer\'s key', async () => {
      const forged = await stranger.sign(ghClaims())
      return `${b64({ alg: 'RS256', typ: 'JWT', kid: gh.kid })}.${b64({ ...ghClaims(), iss: gh.issuer })}.${forged.split('.')[2]}`
    }, 'external_signature_invalid'],
    ['the wrong audience', () => gh.sign(ghClaims({ aud: 'https://elsewhere.example' })), 'external_aud_invalid'],
    ['an audience array without Writ', () => gh.sign(ghClaims({ aud: ['https://a.example', 'https://b.example'] })), 'external_aud_invalid'],
    ['expired beyond leeway', () => gh.sign(ghClaims({ iat: now() - 400, nbf: now() - 400, exp: now() - 31 })), 'external_token_expired'],
    ['a lifetime over the provider maximum', () => gh.sign(ghClaims({ exp: now() + 7_200 })), 'external_lifetime_too_long'],
    ['issued in the future', () => gh.sign(ghClaims({ iat: now() + 120, nbf: undefined, exp: now() + 300 })), 'external_iat_in_future'],
    ['not yet valid', () => gh.sign(ghClaims({ nbf: now() + 120 })), 'external_not_yet_valid'],
    ['exp missing', () => gh.sign(ghClaims({ exp: undefined })), 'external_exp_invalid'],
    ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...ghClaims(), iss: gh.issuer })}.`, 'external_alg_not_allowed'],
    ['HS256 keyed with a guessable secret', () => new SignJWT({ ...ghClaims(), iss: gh.issuer }).setProtectedHeader({ alg: 'HS256', kid: gh.kid })
      .sign(new TextEncoder().encode('x'.repeat(32))), 'external_alg_not_allowed'],
    ['jku pointing at a listener', () => gh.sign(ghClaims(), { jku: listenerUrl }), 'external_header_jku_forbidden'],
    ['x5u pointing at a listener', () => gh.sign(ghClaims(), { x5u: listenerUrl }), 'external_header_x5u_forbidden'],
    ['an embedded jwk', () => gh.sign(ghClaims(), { jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } }), 'external_header_jwk_forbidden'],
    ['an unknown kid', () => gh.sign(ghClaims(), { kid: 'no-such-key' }), 'external_kid_unknown'],
    ['a Writ capability token typ', () => gh.sign(ghClaims(), { typ: 'at+jwt' }), 'external_typ_invalid'],
    ['a repository that matches no document', () => gh.sign(ghClaims({ repository: 'octo-org/other-repo' })), 'federated_identity_unmatched'],
    ['another environment in the sub', () => gh.sign(ghClaims({ sub: 'repo:octo-org/octo-repo:environment:staging' })), 'federated_identity_unmatched'],
    ['a ref of a branch the document does not name', () => gh.sign(ghClaims({ ref: 'refs/heads/feature' })), 'federated_identity_unmatched'],
    ['a claim of the wrong type (array for a string)', () => gh.sign(ghClaims({ repository: ['octo-org/octo-repo'] })), 'github_actions_claims_missing'],
    ['a GitHub-kind token without its claims', () => gh.sign({ sub: 'repo:octo-org/octo-repo:environment:prod', aud: GH_AUDIENCE, iat: now(), exp: now() + 300 }), 'github_actions_claims_missing'],
    ['a Kubernetes token whose sub disagrees with its kubernetes.io claim', () => k8s.sign(kubernetesClaims(now(), K8S_AUDIENCE, { sub: 'system:serviceaccount:payments:deployer' }, 'payments', 'intruder')), 'kubernetes_claims_invalid', 'k8s'],
    ['a Kubernetes token from another namespace', () => k8s.sign(kubernetesClaims(now(), K8S_AUDIENCE, {}, 'dev', 'deployer')), 'federated_identity_unmatched', 'k8s'],
    ['a single-use token without jti', () => k8s.sign(kubernetesClaims(now(), K8S_AUDIENCE, { jti: undefined })), 'external_jti_missing', 'k8s'],
  ]

  it.each(cases)('refuses %s', async (_name, make, reason, who) => {
    const target = who === 'k8s' ? k8sAgent : ghAgent
    const before = (await t.storage.audit.head()).seq
    const response = await request(target, await make())
    expect(response.status).toBe(401)
    const body = await response.json() as Record<string, unknown>
    expect(body).toMatchObject({ error: 'invalid_client', writ_code: 'CLIENT_AUTHENTICATION_FAILED' })
    const records = await t.storage.audit.tail(1)
    expect(records[0]).toMatchObject({ seq: before + 1, type: 'client.authentication_fail', decision: { reasons: [reason] } })
    // The private_key_jwt path keeps its reasons in the answer; a federated mismatch never tells the prober which claim.
    if (!reason.startsWith('assertion_')) expect(body.reasons).toBeUndefined()
  })

  // The same battery through the other way in: the external token as an RFC 7523 authorization grant.
  it.each(cases)('refuses %s as a jwt-bearer grant', async (_name, make, reason, who) => {
    const target = who === 'k8s' ? k8sAgent : ghAgent
    const response = await t.token({
      grant_type: GRANT_TYPES.jwtBearer, assertion: await make(), client_id: target.id, task_id: 'T-7',
      authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]),
    })
    expect(response.status).toBe(400)
    const body = await response.json() as Record<string, unknown>
    expect(body).toMatchObject({ error: 'invalid_grant', writ_code: 'EXTERNAL_TOKEN_INVALID' })
    expect(body.reasons).toBeUndefined()
    // An untrusted issuer is not a private_key_jwt assertion here: there is no other path for it to take.
    const audited = reason.startsWith('assertion_') ? 'external_issuer_untrusted' : reason
    expect((await t.storage.audit.tail(1))[0]).toMatchObject({ type: 'client.authentication_fail', decision: { reasons: [audited] } })
  })

  it('refuses a replayed single-use token', async () => {
    const external = await k8s.sign(kubernetesClaims(now(), K8S_AUDIENCE))
    expect((await request(k8sAgent, external)).status).toBe(200)
    const replay = await request(k8sAgent, external)
    expect(replay.status).toBe(401)
    expect(await replay.json()).toMatchObject({ writ_code: 'CLIENT_ASSERTION_REPLAYED' })
  })

  it('fails closed with a clear 503 when the issuer cannot be reached', async () => {
    const down = await startExternalIssuer()
    const token = await down.sign(githubActionsClaims(now(), GH_AUDIENCE))
    await down.close()
    const t2 = await createTestApp({ config: { trust: { providers: [{ name: 'github', issuer: down.issuer, audience: GH_AUDIENCE }], fetchTimeoutMs: 500 } } })
    try {
      const agent = await register(t2, 'gh-deployer', [{ provider: 'github', subject: 'repo:octo-org/octo-repo:environment:prod' }])
      const response = await t2.token({
        grant_type: 'client_credentials', client_id: agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: token,
        authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]), task_id: 'T-7',
      })
      expect(response.status).toBe(503)
      const body = await response.json() as { writ_code: string; error_description: string }
      expect(body).toMatchObject({ error: 'temporarily_unavailable', writ_code: 'TRUST_PROVIDER_UNAVAILABLE' })
      expect(body.error_description).toContain(down.issuer)
      expect((await t2.storage.audit.tail(1))[0]).toMatchObject({ type: 'client.authentication_fail', decision: { reasons: ['trust_provider_unavailable'] } })
    } finally {
      await t2.close()
    }
  })

  it('issued no token to any hostile case and never called a URL from a token header', async () => {
    const issued = await t.storage.db.selectFrom('issued_tokens').select('jti').execute()
    expect(issued).toHaveLength(1) // the single-use token's one legitimate use above
    expect(listenerHits).toBe(0)
  })
})
