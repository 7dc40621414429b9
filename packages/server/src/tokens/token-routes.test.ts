import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { sql } from 'kysely'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { verifyChain } from '../audit/verify-chain.js'

describe('POST /oauth/token', () => {
  let t: TestApp
  let bot: TestAgent
  beforeEach(async () => {
    t = await createTestApp()
    bot = await t.register(exampleDocument('deploy-bot'))
  })
  afterEach(async () => t.close())

  it('issues an at+jwt for a declared action that jose verifies against the published JWKS', async () => {
    const response = await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read', step_id: '3', task_purpose: 'run CI for PR 7' })
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const body = await response.json() as { access_token: string; token_type: string; expires_in: number }
    expect(body.token_type).toBe('Bearer')
    expect(body.expires_in).toBe(300)
    const jwks = await (await t.app.publicApp.request('/.well-known/jwks.json')).json()
    const { payload, protectedHeader } = await jwtVerify(body.access_token, createLocalJWKSet(jwks as never), {
      issuer: ISSUER, audience: 'urn:writ:resource-server', typ: 'at+jwt', currentDate: new Date(t.clock.nowMs()),
    })
    expect(protectedHeader.alg).toBe('EdDSA')
    expect(payload).toMatchObject({
      sub: bot.agent.id, client_id: bot.agent.id,
      authorization_details: [{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }],
      task: { id: 'T-42', step: '3', purpose: 'run CI for PR 7' },
    })
    expect(payload.exp! - payload.iat!).toBe(300)
  })

  it('records the issue in the audit chain with the jti and never the token', async () => {
    const body = await (await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })).json() as { access_token: string }
    const records = await t.storage.audit.tail(5)
    const issue = records.find((r) => r.type === 'token.issue')
    expect(issue).toMatchObject({ actor: { kind: 'agent', id: bot.agent.id }, action: 'tests.run', decision: { effect: 'allow' }, task: { id: 'T-42' } })
    expect(issue?.token?.jti).toBeTruthy()
    const all = await t.storage.db.selectFrom('audit_events').select('record').execute()
    const signature = body.access_token.split('.')[2] as string
    for (const row of all) expect(row.record).not.toContain(signature)
    expect(await t.storage.tokens.findIssued(issue?.token?.jti as string)).toBeTruthy()
    expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
  })

  it('denies an undeclared action with the reason, and audits the denial', async () => {
    const response = await t.requestCapability(bot, 'db.drop', 'db:billing')
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ error: 'access_denied', writ_code: 'POLICY_DENIED', reasons: ['capability_not_declared:db.drop'] })
    const [last] = await t.storage.audit.tail(1)
    expect(last).toMatchObject({ type: 'token.deny', decision: { effect: 'deny', reasons: ['capability_not_declared:db.drop'] } })
    expect(await t.storage.tokens.countIssued()).toBe(0)
  })

  it('refuses suspended and retired agents', async () => {
    expect((await t.admin('POST', `/v1/agents/${bot.agent.id}/suspend`)).status).toBe(200)
    const suspended = await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })
    expect(suspended.status).toBe(403)
    expect(await suspended.json()).toMatchObject({ writ_code: 'AGENT_NOT_ACTIVE' })
    expect((await t.admin('POST', `/v1/agents/${bot.agent.id}/retire`)).status).toBe(200)
    expect((await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })).status).toBe(403)
    expect(await t.storage.tokens.countIssued()).toBe(0)
  })

  it('rejects a replayed assertion and lets exactly one of 50 concurrent uses win', async () => {
    const assertion = await bot.assertion()
    const fields = {
      grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
      authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]), task_id: 'T-1',
    }
    const responses = await Promise.all(Array.from({ length: 50 }, () => t.token(fields)))
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1)
    for (const r of responses.filter((r) => r.status !== 200)) {
      expect(r.status).toBe(401)
      expect(await r.json()).toMatchObject({ error: 'invalid_client', writ_code: 'CLIENT_ASSERTION_REPLAYED' })
    }
    expect(await t.storage.tokens.countIssued()).toBe(1)
  })

  it('fails closed: when the audit append fails, no token is returned and none is recorded', async () => {
    await sql`create trigger audit_fail before insert on audit_events begin select raise(fail, 'injected audit failure'); end`.execute(t.storage.db)
    const response = await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })
    expect(response.status).toBe(503)
    const body = await response.json() as Record<string, unknown>
    expect(body).toMatchObject({ error: 'temporarily_unavailable', writ_code: 'AUDIT_UNAVAILABLE' })
    expect(body).not.toHaveProperty('access_token')
    expect(await t.storage.tokens.countIssued()).toBe(0)
    await sql`drop trigger audit_fail`.execute(t.storage.db)
    expect((await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })).status).toBe(200)
  })

  it('issues with an ES256 agent key as well', async () => {
    const ec = await t.register({ ...exampleDocument('support-assistant') }, 'p256')
    expect((await t.requestCapability(ec, 'ticket.update', 'tickets:1')).status).toBe(200)
  })

  it('signs with ES256 when configured', async () => {
    const es = await createTestApp({ config: { keys: { algorithm: 'ES256' } } })
    const agent = await es.register(exampleDocument('deploy-bot'))
    const body = await (await es.requestCapability(agent, 'tests.run', 'repo:acme/billing', { access: 'read' })).json() as { access_token: string }
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' })
    await es.close()
  })

  it('answers bad input with the OAuth error format and a stable code', async () => {
    const cases: Array<[string, RequestInit, number, string]> = [
      ['wrong content type', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, 415, 'invalid_request'],
      ['no grant type', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' }, 400, 'unsupported_grant_type'],
      ['duplicate parameter', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&grant_type=client_credentials' }, 400, 'invalid_request'],
      ['body over 64 KiB', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&x=${'a'.repeat(70_000)}` }, 413, 'invalid_request'],
      ['no assertion', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' }, 401, 'invalid_client'],
      ['garbage assertion', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=abc' }, 401, 'invalid_client'],
    ]
    for (const [name, init, status, error] of cases) {
      const response = await t.app.publicApp.request('/oauth/token', init)
      expect(response.status, name).toBe(status)
      expect((await response.json() as { error: string }).error, name).toBe(error)
    }
    expect(await t.storage.tokens.countIssued()).toBe(0)
  })

  it('rejects malformed authorization details and tasks after authenticating, and spends the assertion', async () => {
    const bad: Array<[Record<string, string>, string]> = [
      [{ authorization_details: 'not json' }, 'invalid_authorization_details'],
      [{ authorization_details: '[]' }, 'invalid_authorization_details'],
      [{ authorization_details: JSON.stringify([{ type: 'writ_action', action: 'a', resource: 'r' }, { type: 'writ_action', action: 'b', resource: 'r' }]) }, 'invalid_authorization_details'],
      [{ authorization_details: JSON.stringify([{ type: 'other', action: 'a', resource: 'r' }]) }, 'invalid_authorization_details'],
      [{ authorization_details: JSON.stringify([{ type: 'writ_action', action: 'a', resource: 'r', extra: 1 }]) }, 'invalid_authorization_details'],
      [{ task_id: '' }, 'invalid_request'],
      [{ resource: 'https://elsewhere.example' }, 'invalid_target'],
    ]
    for (const [override, error] of bad) {
      const response = await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read', ...override })
      expect(response.status, JSON.stringify(override)).toBe(400)
      expect((await response.json() as { error: string }).error).toBe(error)
    }
    expect(await t.storage.tokens.countIssued()).toBe(0)
  })

  it('publishes RFC 8414 metadata', async () => {
    const metadata = await (await t.app.publicApp.request('/.well-known/oauth-authorization-server')).json()
    expect(metadata).toMatchObject({
      issuer: ISSUER, token_endpoint: `${ISSUER}/oauth/token`, jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      token_endpoint_auth_methods_supported: ['private_key_jwt'], authorization_details_types_supported: ['writ_action'],
    })
  })
})
