import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { createCapabilityVerifier } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { verifyChain } from '../audit/verify-chain.js'
import { action, decodePayload, engines, exchangeForCapability, mandate } from './delegation-test.fixture.js'

describe.each(engines())('mandates and grant → capability exchange on $name', (engine) => {
  let dispose: () => Promise<void>
  let t: TestApp
  let bot: TestAgent
  let other: TestAgent
  beforeEach(async () => {
    const opened = await engine.open()
    dispose = opened.dispose
    t = await createTestApp({ storage: opened.storage })
    bot = await t.register(exampleDocument('deploy-bot'))
    other = await t.register({ ...exampleDocument('deploy-bot'), name: 'other-bot' })
  })
  afterEach(async () => { await t.close(); await dispose() })

  const jwks = async () => createLocalJWKSet(await (await t.app.publicApp.request('/.well-known/jwks.json')).json() as never)

  it('creates a mandate whose JWT is a writ-grant+jwt for Writ itself, shown once and audited', async () => {
    const { grant, jti } = await mandate(t, bot, [action('tests.run', 'repo:acme/*')], { expiresIn: 7_200 })
    const { payload, protectedHeader } = await jwtVerify(grant, await jwks(), { issuer: ISSUER, audience: ISSUER, typ: 'writ-grant+jwt', currentDate: new Date(t.clock.nowMs()) })
    expect(protectedHeader.typ).toBe('writ-grant+jwt')
    expect(payload).toMatchObject({ sub: 'alice@example.com', may_act: { sub: bot.agent.id }, task: { id: 'T-9' }, jti, authorization_details: [action('tests.run', 'repo:acme/*')] })
    expect(payload.exp! - payload.iat!).toBe(7_200)
    expect(payload.act).toBeUndefined()
    const shown = await (await t.admin('GET', `/v1/grants/${jti}`)).json() as Record<string, unknown>
    expect(shown).toMatchObject({ jti, kind: 'mandate', subject: 'alice@example.com', may_act: bot.agent.id, depth: 1, revoked_at: null, derived: [] })
    expect(JSON.stringify(shown)).not.toContain(grant.split('.')[2])
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'delegation.create', actor: { kind: 'admin' }, on_behalf_of: 'alice@example.com', token: { jti } })
    expect(JSON.stringify(record)).not.toContain(grant.split('.')[2])
  })

  it('refuses a mandate for an undeclared action, too long a lifetime, or without the admin role', async () => {
    const undeclared = await t.admin('POST', '/v1/grants', { human: 'a@example.com', agent: bot.agent.id, authorization_details: [action('db.drop', 'db:x')], task: { id: 'T' } })
    expect(undeclared.status).toBe(400)
    const long = await t.admin('POST', '/v1/grants', { human: 'a@example.com', agent: bot.agent.id, authorization_details: [action('tests.run', 'repo:acme/billing')], task: { id: 'T' }, expires_in: 30 * 86_400 })
    expect(long.status).toBe(400)
    const auditor = (await (await t.admin('POST', '/v1/admins', { name: 'aud@example.com', roles: ['auditor'] })).json() as { credential: string }).credential
    const asAuditor = await t.app.adminApp.request('/v1/grants', {
      method: 'POST', headers: { authorization: `Bearer ${auditor}`, 'content-type': 'application/json' },
      body: JSON.stringify({ human: 'alice@example.com', agent: bot.agent.id, authorization_details: [action('tests.run', 'repo:acme/billing')], task: { id: 'T' } }),
    })
    expect(asAuditor.status).toBe(403)
    // A human on their own behalf: a credential named after them.
    const alice = (await (await t.admin('POST', '/v1/admins', { name: 'alice@example.com', roles: ['auditor'] })).json() as { credential: string }).credential
    const own = await t.app.adminApp.request('/v1/grants', {
      method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ human: 'alice@example.com', agent: bot.agent.id, authorization_details: [action('tests.run', 'repo:acme/billing')], task: { id: 'T' } }),
    })
    expect(own.status).toBe(201)
  })

  it('exchanges the grant for a capability: sub = the human, client_id = the agent, act = the agent, parent = the grant', async () => {
    const { grant, jti } = await mandate(t, bot, [action('tests.run', 'repo:acme/*')])
    const response = await exchangeForCapability(t, bot, grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }), { step_id: '2' })
    expect(response.status).toBe(200)
    const body = await response.json() as { access_token: string; token_type: string; issued_token_type: string }
    expect(body).toMatchObject({ token_type: 'Bearer', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' })
    const { payload } = await jwtVerify(body.access_token, await jwks(), { issuer: ISSUER, audience: 'urn:writ:resource-server', typ: 'at+jwt', currentDate: new Date(t.clock.nowMs()) })
    expect(payload).toMatchObject({ sub: 'alice@example.com', client_id: bot.agent.id, act: { sub: bot.agent.id }, parent: jti, task: { id: 'T-9', step: '2' } })
    const issued = await t.storage.tokens.findIssued(payload.jti as string)
    expect(issued).toMatchObject({ parent_jti: jti, agent_id: bot.agent.id })
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'token.issue', on_behalf_of: 'alice@example.com', data: { delegation: { parent: jti, chain: [], depth: 1 } } })
    expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
  })

  it('refuses another agent presenting the grant (may_act), and audits the refusal', async () => {
    const { grant } = await mandate(t, bot, [action('tests.run', 'repo:acme/*')])
    const response = await exchangeForCapability(t, other, grant, action('tests.run', 'repo:acme/billing'))
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'invalid_grant', writ_code: 'GRANT_INVALID', reasons: ['may_act_mismatch'] })
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'token.deny', actor: { id: other.agent.id }, decision: { reasons: ['may_act_mismatch'] } })
    expect(await t.storage.tokens.countIssued()).toBe(0)
  })

  it('refuses a capability token presented as a grant, and the SDK verifier refuses a grant presented as a capability', async () => {
    const { grant } = await mandate(t, bot, [action('tests.run', 'repo:acme/*')])
    const capability = (await (await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })).json() as { access_token: string }).access_token
    const asGrant = await exchangeForCapability(t, bot, capability, action('tests.run', 'repo:acme/billing'))
    expect(asGrant.status).toBe(400)
    expect(await asGrant.json()).toMatchObject({ writ_code: 'GRANT_INVALID', reasons: ['grant_malformed:typ_mismatch'] })

    const verifier = createCapabilityVerifier({
      issuer: ISSUER, audience: [ISSUER, 'urn:writ:resource-server'], now: () => t.clock.nowSeconds(),
      jwks: await (await t.app.publicApp.request('/.well-known/jwks.json')).json() as never,
    })
    await expect(verifier.verify(grant, { action: 'tests.run', resource: 'repo:acme/*' })).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    // And as a client_credentials bearer it is nothing: the grant is not an assertion either.
    const asAssertion = await t.token({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: grant, authorization_details: JSON.stringify([action('tests.run', 'repo:acme/billing')]), task_id: 'T' })
    expect(asAssertion.status).toBe(401)
  })

  it('refuses an action, resource, parameter or task the grant does not cover', async () => {
    const { grant } = await mandate(t, bot, [action('tests.run', 'repo:acme/*', { parameters: { branch: 'main' } })])
    const cases: Array<[ReturnType<typeof action>, Record<string, string>, string]> = [
      [action('deploy.run', 'repo:acme/billing', { parameters: { branch: 'main' } }), {}, 'widened:action'],
      [action('tests.run', 'repo:other/billing', { parameters: { branch: 'main' } }), {}, 'widened:resource'],
      [action('tests.run', 'repo:acme/billing'), {}, 'widened:parameters'],
      [action('tests.run', 'repo:acme/billing', { parameters: { branch: 'dev' } }), {}, 'widened:parameters'],
      [action('tests.run', 'repo:acme/billing', { parameters: { branch: 'main' } }), { task_id: 'T-10' }, 'task_mismatch'],
    ]
    for (const [detail, extra, reason] of cases) {
      const response = await exchangeForCapability(t, bot, grant, detail, extra)
      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({ error: 'invalid_scope', writ_code: 'GRANT_SCOPE_EXCEEDED', reasons: [reason] })
    }
    const narrower = await exchangeForCapability(t, bot, grant, action('tests.run', 'repo:acme/billing', { parameters: { branch: 'main', job: 'unit' }, actions: ['read'] }))
    expect(narrower.status).toBe(200)
  })

  it('keeps the boundary: a grant cannot lend an agent a resource its document does not declare', async () => {
    const { grant } = await mandate(t, bot, [action('tests.run', '*')])
    const response = await exchangeForCapability(t, bot, grant, action('tests.run', 'repo:other/secret', { actions: ['read'] }))
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ writ_code: 'POLICY_DENIED' })
  })

  it('refuses every exchange once the mandate is revoked, and a token never outlives its grant', async () => {
    const { grant, jti } = await mandate(t, bot, [action('tests.run', 'repo:acme/*')], { expiresIn: 120 })
    const early = await exchangeForCapability(t, bot, grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect((await early.json() as { expires_in: number }).expires_in).toBe(120)
    expect((await t.admin('POST', `/v1/grants/${jti}/revoke`)).status).toBe(200)
    const late = await exchangeForCapability(t, bot, grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect(late.status).toBe(400)
    expect(await late.json()).toMatchObject({ writ_code: 'GRANT_REVOKED' })
    expect((await t.admin('POST', `/v1/grants/${jti}/revoke`)).status).toBe(400)
    const records = await t.storage.audit.tail(3)
    expect(records.map((r) => r.type)).toEqual(['token.issue', 'revocation.create', 'token.deny'])
  })

  it('refuses an expired grant', async () => {
    const { grant } = await mandate(t, bot, [action('tests.run', 'repo:acme/*')], { expiresIn: 60 })
    t.clock.advance(120_000)
    const response = await exchangeForCapability(t, bot, grant, action('tests.run', 'repo:acme/billing'))
    expect(await response.json()).toMatchObject({ writ_code: 'GRANT_INVALID', reasons: ['grant_expired'] })
  })

  it('holds a delegated action for a human like any other, and the approved token carries the chain', async () => {
    const approver = (await (await t.admin('POST', '/v1/admins', { name: 'rm@example.com', roles: ['release-manager'] })).json() as { credential: string }).credential
    const { grant, jti } = await mandate(t, bot, [action('deploy.run', 'service:*')])
    const held = await exchangeForCapability(t, bot, grant, action('deploy.run', 'service:billing'))
    const pending = await held.json() as { error: string; auth_req_id: string }
    expect(pending.error).toBe('authorization_pending')
    const listed = await (await t.admin('GET', '/v1/approvals?status=pending')).json() as { approvals: Array<Record<string, unknown>> }
    expect(listed.approvals).toMatchObject([{ auth_req_id: pending.auth_req_id, agent_id: bot.agent.id, on_behalf_of: 'alice@example.com', delegation: { grant: jti, chain: [], depth: 1 } }])
    const approved = await t.app.adminApp.request(`/v1/approvals/${pending.auth_req_id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${approver}` } })
    expect(approved.status).toBe(200)
    t.clock.advance(5_000)
    const redeemed = await t.token({
      grant_type: 'urn:openid:params:grant-type:ciba', client_id: bot.agent.id, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await bot.assertion(), auth_req_id: pending.auth_req_id,
    })
    expect(redeemed.status).toBe(200)
    const payload = decodePayload((await redeemed.json() as { access_token: string }).access_token)
    expect(payload).toMatchObject({ sub: 'alice@example.com', client_id: bot.agent.id, act: { sub: bot.agent.id }, parent: jti })
  })

  it('lets Cedar see the human and the depth of the chain', async () => {
    const policy = '@id("no-mallory")\nforbid (principal, action, resource) when { context has human && context.human == Writ::Human::"mallory@example.com" && context.delegation_depth >= 1 };\npermit (principal, action, resource);\n'
    expect((await t.admin('POST', '/v1/policies', { files: { 'main.cedar': policy } })).status).toBe(201)
    const fromMallory = await mandate(t, bot, [action('tests.run', 'repo:acme/*')], { human: 'mallory@example.com' })
    const fromAlice = await mandate(t, bot, [action('tests.run', 'repo:acme/*')])
    const refused = await exchangeForCapability(t, bot, fromMallory.grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ writ_code: 'POLICY_DENIED' })
    expect((await exchangeForCapability(t, bot, fromAlice.grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))).status).toBe(200)
  })

  it('publishes token exchange in the metadata', async () => {
    const metadata = await (await t.app.publicApp.request('/.well-known/oauth-authorization-server')).json() as { grant_types_supported: string[] }
    expect(metadata.grant_types_supported).toContain('urn:ietf:params:oauth:grant-type:token-exchange')
  })
})
