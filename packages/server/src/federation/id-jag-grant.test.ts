/** ID-JAG on the jwt-bearer grant: an enterprise IdP's assertion that a user lets this agent act, answered with a grant. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ASSERTION_TYPE, GRANT_TYPES, ID_JAG_TYP, TOKEN_TYPE_IDS } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { action, decodePayload, exchangeForCapability } from '../delegation/delegation-test.fixture.js'
import { GH_AUDIENCE, githubActionsClaims, registerFederated, startExternalIssuer, type ExternalIssuer } from './external-issuer.fixture.js'

const HUMAN_AUDIENCE = 'https://writ.example/humans'

describe('ID-JAG on the jwt-bearer grant', () => {
  let idp: ExternalIssuer
  let gh: ExternalIssuer
  let t: TestApp
  let bot: TestAgent
  let other: TestAgent

  beforeAll(async () => {
    idp = await startExternalIssuer()
    gh = await startExternalIssuer()
    t = await createTestApp({
      config: {
        trust: {
          humanIssuers: [{ issuer: idp.issuer, audience: HUMAN_AUDIENCE, groupsClaim: 'groups' }],
          providers: [{ name: 'github', issuer: gh.issuer, audience: GH_AUDIENCE, kind: 'github-actions' }],
        },
      },
    })
    bot = await t.register(exampleDocument('deploy-bot'))
    other = await t.register({ ...exampleDocument('deploy-bot'), name: 'other-bot' })
  })
  afterAll(async () => { await t.close(); await idp.close(); await gh.close() })

  const now = () => t.clock.nowSeconds()
  const idJag = (over: Record<string, unknown> = {}, typ: string = ID_JAG_TYP) => idp.sign({
    sub: 'alice', aud: ISSUER, client_id: bot.agent.id, jti: crypto.randomUUID(), iat: now(), exp: now() + 300, groups: ['sre'], ...over,
  }, { typ })
  const grant = async (assertion: string, who: 'bot' | 'other' | 'none' = 'bot', extra: Record<string, string> = {}) => {
    const agent = who === 'bot' ? bot : who === 'other' ? other : undefined
    return t.token({
    grant_type: GRANT_TYPES.jwtBearer, assertion,
    ...(agent ? { client_id: agent.agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await agent.assertion() } : {}),
    authorization_details: JSON.stringify([action('tests.run', 'repo:acme/billing', { actions: ['read'] })]), task_id: 'T-90', ...extra,
    })
  }

  it('answers a grant with sub = the user and may_act = the agent, and the grant buys a capability with act = the agent', async () => {
    const response = await grant(await idJag())
    expect(response.status, await response.clone().text()).toBe(200)
    const body = await response.json() as { access_token: string; issued_token_type: string; token_type: string }
    expect(body).toMatchObject({ issued_token_type: TOKEN_TYPE_IDS.grant, token_type: 'N_A' })
    const claims = decodePayload(body.access_token)
    expect(claims).toMatchObject({ sub: 'alice', may_act: { sub: bot.agent.id }, task: { id: 'T-90' } })
    expect((await t.storage.audit.tail(1))[0]).toMatchObject({ type: 'delegation.create', on_behalf_of: 'alice', data: { via: 'id-jag', issuer: idp.issuer, groups: ['sre'] } })

    const capability = await exchangeForCapability(t, bot, body.access_token, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect(capability.status).toBe(200)
    expect(decodePayload((await capability.json() as { access_token: string }).access_token)).toMatchObject({ sub: 'alice', client_id: bot.agent.id, act: { sub: bot.agent.id } })
  })

  it('lets an agent without a key present an ID-JAG, authenticating with its platform token, and names that token in the audit', async () => {
    const ci = await registerFederated(t, 'ci-deployer', [{ provider: 'github', subject: 'repo:octo-org/octo-repo:environment:prod' }])
    const platformToken = await gh.sign(githubActionsClaims(now(), GH_AUDIENCE))
    const response = await t.token({
      grant_type: GRANT_TYPES.jwtBearer, assertion: await idJag({ client_id: ci.id }),
      client_id: ci.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: platformToken,
      authorization_details: JSON.stringify([action('tests.run', 'repo:acme/billing', { actions: ['read'] })]), task_id: 'T-91',
    })
    expect(response.status, await response.clone().text()).toBe(200)
    expect(decodePayload((await response.json() as { access_token: string }).access_token)).toMatchObject({ sub: 'alice', may_act: { sub: ci.id } })
    expect((await t.storage.audit.tail(1))[0]).toMatchObject({
      type: 'delegation.create', data: { via: 'id-jag', federation: { provider: 'github', iss: gh.issuer, sub: 'repo:octo-org/octo-repo:environment:prod' } },
    })
  })

  it.each([
    ['issued to another agent', () => idJag({ client_id: 'someone-else' })],
    ['presented by another agent', () => idJag(), 'other'],
    ['addressed to the identity provider\'s audience instead of Writ', () => idJag({ aud: HUMAN_AUDIENCE })],
    ['expired', () => idJag({ iat: now() - 600, exp: now() - 60 })],
    ['without jti', () => idJag({ jti: undefined })],
  ] as const)('refuses an ID-JAG %s', async (_name, make, who?: 'other') => {
    const response = await grant(await make(), who)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'invalid_grant', writ_code: 'EXTERNAL_TOKEN_INVALID' })
  })

  it('requires the agent to authenticate: an ID-JAG alone is not a credential', async () => {
    const response = await grant(await idJag(), 'none')
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: 'invalid_client' })
  })

  it('never takes an ID-JAG as an ID token, nor an ID token as an ID-JAG', async () => {
    const asIdToken = await t.token({
      grant_type: GRANT_TYPES.tokenExchange, client_id: bot.agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await bot.assertion(),
      subject_token: await idJag({ aud: HUMAN_AUDIENCE }), subject_token_type: TOKEN_TYPE_IDS.idToken, requested_token_type: TOKEN_TYPE_IDS.grant,
      authorization_details: JSON.stringify([action('tests.run', 'repo:acme/billing', { actions: ['read'] })]), task_id: 'T-90',
    })
    expect(asIdToken.status).toBe(400)
    expect(await asIdToken.json()).toMatchObject({ reasons: ['external_typ_invalid'] })
    // An ID token on the jwt-bearer grant is not an ID-JAG: it takes the workload path, where no provider trusts it.
    const idToken = await idJag({}, 'JWT')
    expect(await (await grant(idToken, 'none', { client_id: bot.agent.id })).json()).toMatchObject({ error: 'invalid_grant' })
  })
})
