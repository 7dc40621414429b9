import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { CLIENT_ASSERTION_TYPE, createDpopKey, signDpopProof } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { verifyChain } from '../audit/verify-chain.js'
import { registerResourceServer, type TestResourceServer } from './resource-server-test.fixture.js'

describe('Writ\'s API token (client_credentials, scope=writ:revocations)', () => {
  let t: TestApp
  let rs: TestResourceServer
  let bot: TestAgent
  beforeEach(async () => {
    t = await createTestApp()
    rs = await registerResourceServer(t, 'billing-api', 'https://billing.example.com')
    bot = await t.register(exampleDocument('deploy-bot'))
  })
  afterEach(async () => t.close())

  it('issues an at+jwt for the issuer itself to a resource server, audited with its scope and never the token', async () => {
    const response = await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...(await rs.clientAuth()) })
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const body = await response.json() as { access_token: string; token_type: string; expires_in: number; scope: string }
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'writ:revocations' })
    const jwks = await (await t.app.publicApp.request('/.well-known/jwks.json')).json()
    const { payload } = await jwtVerify(body.access_token, createLocalJWKSet(jwks as never), {
      issuer: ISSUER, audience: ISSUER, typ: 'at+jwt', currentDate: new Date(t.clock.nowMs()),
    })
    expect(payload).toMatchObject({ sub: rs.server.id, client_id: rs.server.id, scope: 'writ:revocations' })
    expect(payload.authorization_details).toBeUndefined()
    const issue = (await t.storage.audit.tail(3)).find((r) => r.type === 'token.issue')
    expect(issue).toMatchObject({ actor: { kind: 'resource_server', id: rs.server.id }, token: { jti: payload.jti }, data: { scope: 'writ:revocations', aud: ISSUER } })
    const records = await t.storage.db.selectFrom('audit_events').select('record').execute()
    for (const row of records) expect(row.record).not.toContain(body.access_token.split('.')[2])
    expect(await t.app.verifyApiToken(body.access_token, 'writ:revocations')).toEqual({ clientId: rs.server.id, jti: payload.jti, exp: payload.exp })
    expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
  })

  it('binds the API token to a DPoP key when a proof is sent; verifyApiToken then wants that key', async () => {
    const key = await createDpopKey()
    const proof = await signDpopProof(key, { htm: 'POST', htu: `${ISSUER}/oauth/token`, now: () => t.clock.nowSeconds() })
    const response = await t.app.publicApp.request('/oauth/token', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'writ:revocations', ...(await rs.clientAuth()) }).toString(),
    })
    const body = await response.json() as { access_token: string; token_type: string }
    expect(body.token_type).toBe('DPoP')
    await expect(t.app.verifyApiToken(body.access_token, 'writ:revocations')).rejects.toMatchObject({ reasons: ['api_token_dpop_binding'] })
    expect(await t.app.verifyApiToken(body.access_token, 'writ:revocations', { dpopJkt: key.jkt })).toMatchObject({ clientId: rs.server.id })
    const [record] = (await t.storage.audit.tail(3)).filter((r) => r.type === 'token.issue')
    expect(record).toMatchObject({ data: { cnf_jkt: key.jkt } })
  })

  it('spends the assertion: the same assertion twice is refused', async () => {
    const auth = await rs.clientAuth()
    expect((await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...auth })).status).toBe(200)
    const replay = await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...auth })
    expect(replay.status).toBe(401)
    expect(await replay.json()).toMatchObject({ error: 'invalid_client' })
  })

  it('answers invalid_scope to an agent asking for Writ\'s API scope, and audits it', async () => {
    const response = await t.token({
      grant_type: 'client_credentials', scope: 'writ:revocations', client_id: bot.agent.id,
      client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await bot.assertion(),
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'invalid_scope' })
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'token.deny', actor: { kind: 'agent', id: bot.agent.id }, decision: { reasons: ['scope_not_allowed'] } })
  })

  it('answers invalid_scope to unknown, empty or repeated scopes and unauthorized_client to a capability request with a scope', async () => {
    for (const scope of ['writ:admin', '', 'writ:revocations writ:revocations', 'openid writ:revocations']) {
      const response = await t.token({ grant_type: 'client_credentials', scope, ...(await rs.clientAuth()) })
      expect(response.status, scope).toBe(400)
      expect(await response.json(), scope).toMatchObject({ error: 'invalid_scope' })
    }
    const details = JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:x' }])
    const response = await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', authorization_details: details, ...(await rs.clientAuth()) })
    expect(await response.json()).toMatchObject({ error: 'unauthorized_client' })
  })

  it('refuses an unauthenticated request and a forged assertion as invalid_client', async () => {
    expect((await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', client_id: rs.server.id })).status).toBe(401)
    // Signed by another resource server's key while claiming to be billing-api.
    const other = await registerResourceServer(t, 'other-api', 'urn:example:other')
    const forged = await other.assertion()
    const [header, , signature] = forged.split('.')
    const payload = Buffer.from(JSON.stringify({ iss: rs.server.id, sub: rs.server.id, aud: ISSUER, jti: 'x1', iat: t.clock.nowSeconds(), exp: t.clock.nowSeconds() + 60 })).toString('base64url')
    const impersonation = await t.token({
      grant_type: 'client_credentials', scope: 'writ:revocations', client_id: rs.server.id,
      client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: `${header}.${payload}.${signature}`,
    })
    expect(impersonation.status).toBe(401)
  })
})

describe('the revocation stream\'s authorizer is Writ\'s API token', () => {
  let t: TestApp
  let rs: TestResourceServer
  beforeEach(async () => {
    t = await createTestApp()
    rs = await registerResourceServer(t, 'billing-api', 'https://billing.example.com')
  })
  afterEach(async () => t.close())

  it('answers the JSON twin to a bearer API token, and 401 to none, a capability token or a removed server\'s token', async () => {
    const response = await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...(await rs.clientAuth()) })
    const { access_token: token } = await response.json() as { access_token: string }
    const get = (authorization?: string) => Promise.resolve(t.app.publicApp.request('/revocations?since=0', authorization ? { headers: { authorization } } : {}))
    const ok = await get(`Bearer ${token}`)
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ events: [] })
    expect((await get(`bearer ${token}`)).status).toBe(200)
    expect((await get()).status).toBe(401)
    expect((await get(`Basic ${token}`)).status).toBe(401)
    expect((await get(`Bearer ${token} x`)).status).toBe(401)
    const bot = await t.register(exampleDocument('deploy-bot'))
    const capability = await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })
    expect((await get(`Bearer ${((await capability.json()) as { access_token: string }).access_token}`)).status).toBe(401)
    await t.admin('DELETE', `/v1/resource-servers/${rs.server.id}`)
    expect((await get(`Bearer ${token}`)).status).toBe(401)
  })
})
