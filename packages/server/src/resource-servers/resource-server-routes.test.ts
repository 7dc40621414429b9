import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { verifyChain } from '../audit/verify-chain.js'
import { newKeyPair, registerResourceServer } from './resource-server-test.fixture.js'
import type { ResourceServer } from './resource-server-document.js'

const BILLING = 'https://billing.example.com'

describe('resource servers: admin API, audiences and authentication', () => {
  let t: TestApp
  let bot: TestAgent
  beforeEach(async () => {
    t = await createTestApp()
    bot = await t.register(exampleDocument('deploy-bot'))
  })
  afterEach(async () => t.close())

  it('registers, lists, shows by id or name, and audits each change with the admin as actor', async () => {
    const { server } = await registerResourceServer(t, 'billing-api', BILLING)
    expect(server).toMatchObject({ name: 'billing-api', audience: BILLING, status: 'active', version: 1 })
    const list = await (await t.admin('GET', '/v1/resource-servers')).json() as { resource_servers: ResourceServer[] }
    expect(list.resource_servers.map((s) => s.id)).toEqual([server.id])
    expect(await (await t.admin('GET', '/v1/resource-servers/billing-api')).json()).toMatchObject({ id: server.id })
    expect(await (await t.admin('GET', `/v1/resource-servers/${server.id}`)).json()).toMatchObject({ name: 'billing-api' })
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'resource_server.register', actor: { kind: 'admin' }, data: { resource_server_id: server.id, audience: BILLING } })
    expect((await t.admin('GET', '/v1/resource-servers/nope')).status).toBe(404)
  })

  it('refuses invalid documents: a private key, Writ\'s own issuer as audience, a fragment, unknown members', async () => {
    const { privateJwk, publicJwk } = await newKeyPair()
    const cases: Array<[string, Record<string, unknown>]> = [
      ['private key', { name: 'a', audience: BILLING, jwks: { keys: [privateJwk] } }],
      ['issuer', { name: 'a', audience: ISSUER, jwks: { keys: [publicJwk] } }],
      ['token endpoint', { name: 'a', audience: `${ISSUER}/oauth/token`, jwks: { keys: [publicJwk] } }],
      ['fragment', { name: 'a', audience: `${BILLING}#x`, jwks: { keys: [publicJwk] } }],
      ['relative', { name: 'a', audience: '/billing', jwks: { keys: [publicJwk] } }],
      ['no key', { name: 'a', audience: BILLING, jwks: { keys: [] } }],
      ['unknown member', { name: 'a', audience: BILLING, jwks: { keys: [publicJwk] }, secret: 'x' }],
    ]
    for (const [label, body] of cases) {
      const response = await t.admin('POST', '/v1/resource-servers', body)
      expect(response.status, label).toBe(400)
      expect(await response.json(), label).toMatchObject({ code: 'RESOURCE_SERVER_DOCUMENT_INVALID' })
    }
  })

  it('refuses a second server with the same name or audience', async () => {
    await registerResourceServer(t, 'billing-api', BILLING)
    await expect(registerResourceServer(t, 'billing-api', 'urn:other')).rejects.toThrow(/409/)
    await expect(registerResourceServer(t, 'other', BILLING)).rejects.toThrow(/409/)
  })

  it('issues capability tokens for a registered audience named by `resource`, and refuses an unregistered one', async () => {
    await registerResourceServer(t, 'billing-api', BILLING)
    const issued = await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read', resource: BILLING })
    expect(issued.status).toBe(200)
    expect(decodeJwt(((await issued.json()) as { access_token: string }).access_token).aud).toBe(BILLING)
    const refused = await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read', resource: 'https://unknown.example.com' })
    expect(refused.status).toBe(400)
    expect(await refused.json()).toMatchObject({ error: 'invalid_target' })
    // The configured audience stays the fallback.
    const fallback = await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })
    expect(decodeJwt(((await fallback.json()) as { access_token: string }).access_token).aud).toBe('urn:writ:resource-server')
  })

  it('updates to a new version: the new audience is accepted at once and the old one no longer', async () => {
    const { server, publicJwk } = await registerResourceServer(t, 'billing-api', BILLING)
    const moved = 'https://billing-v2.example.com'
    const response = await t.admin('PUT', '/v1/resource-servers/billing-api', { name: 'billing-api', audience: moved, jwks: { keys: [publicJwk] } })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ id: server.id, version: 2, audience: moved })
    expect((await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read', resource: moved })).status).toBe(200)
    expect((await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read', resource: BILLING })).status).toBe(400)
    const versions = await (await t.admin('GET', `/v1/resource-servers/${server.id}/versions`)).json() as { versions: Array<{ version: number; change: { fields: string[] } }> }
    expect(versions.versions.map((v) => [v.version, v.change.fields])).toEqual([[1, ['audience', 'description', 'jwks', 'name']], [2, ['audience']]])
    const update = (await t.storage.audit.tail(10)).find((r) => r.type === 'resource_server.update')
    expect(update).toMatchObject({ actor: { kind: 'admin' }, data: { fields: ['audience'], version: 2 } })
  })

  it('removes a server: its audience is refused, it can no longer authenticate, and removal is final', async () => {
    const rs = await registerResourceServer(t, 'billing-api', BILLING)
    const removed = await t.admin('DELETE', '/v1/resource-servers/billing-api')
    expect(await removed.json()).toMatchObject({ status: 'removed', version: 2 })
    expect((await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read', resource: BILLING })).status).toBe(400)
    const token = await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...(await rs.clientAuth()) })
    expect(token.status).toBe(401)
    expect(await token.json()).toMatchObject({ error: 'invalid_client' })
    expect((await t.admin('DELETE', `/v1/resource-servers/${rs.server.id}`)).status).toBe(409)
    expect((await t.admin('PUT', `/v1/resource-servers/${rs.server.id}`, { name: 'billing-api', audience: BILLING, jwks: { keys: [rs.publicJwk] } })).status).toBe(409)
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'client.authentication_fail', actor: { kind: 'resource_server', id: rs.server.id }, decision: { reasons: ['resource_server_removed'] } })
    expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
  })

  it('refuses a resource server every agent grant: token exchange and the CIBA poll answer unauthorized_client', async () => {
    const rs = await registerResourceServer(t, 'billing-api', BILLING)
    const exchange = await t.token({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: 'x.y.z',
      subject_token_type: 'urn:writ:params:oauth:token-type:grant', ...(await rs.clientAuth()),
    })
    expect(await exchange.json()).toMatchObject({ error: 'unauthorized_client' })
    const poll = await t.token({ grant_type: 'urn:openid:params:grant-type:ciba', auth_req_id: 'a'.repeat(40), ...(await rs.clientAuth()) })
    expect(await poll.json()).toMatchObject({ error: 'unauthorized_client' })
  })

  it('authenticates a resource server with private_key_jwt but refuses it a capability (unauthorized_client), spending its assertion', async () => {
    const rs = await registerResourceServer(t, 'billing-api', BILLING)
    const auth = await rs.clientAuth()
    const fields = { grant_type: 'client_credentials', authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:x' }]), task_id: 'T-1' }
    const response = await t.token({ ...fields, ...auth })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'unauthorized_client' })
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'client.authentication_fail', actor: { kind: 'resource_server', id: rs.server.id }, decision: { reasons: ['client_not_agent'] } })
    const replay = await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...auth })
    expect(replay.status).toBe(401)
    expect(await replay.json()).toMatchObject({ error: 'invalid_client' })
  })
})
