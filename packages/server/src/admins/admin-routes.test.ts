import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTestApp, exampleDocument, ISSUER, type TestApp } from '../test-app.fixture.js'
import type { AuditRecord } from '../audit/audit-record.js'
import { openStorage } from '../storage/open-storage.js'
import type { Storage } from '../storage/storage.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../storage/test-database.fixture.js'
import type { AdminView } from './admin-routes.js'

type Engine = { name: string; open: () => Promise<{ storage: Storage; dispose(): Promise<void> }> }
const engines: Engine[] = [{ name: 'sqlite', open: async () => { const storage = await openStorage({ driver: 'sqlite', sqlitePath: ':memory:' }); return { storage, dispose: async () => undefined } } }]
if (TEST_DATABASE_URL) {
  engines.push({ name: 'postgres', open: async () => {
    const database = await createTestDatabase()
    const storage = await openStorage({ driver: 'postgres', url: database.url })
    return { storage, dispose: () => database.drop() }
  } })
} else describePostgres()

describe.each(engines)('admin credentials over the admin API on $name', (engine) => {
  let t: TestApp
  let dispose: () => Promise<void>
  beforeEach(async () => {
    const opened = await engine.open()
    dispose = opened.dispose
    t = await createTestApp({ storage: opened.storage })
  })
  afterEach(async () => { await t.close(); await dispose() })

  const as = (credential: string, method: string, path: string, body?: unknown) => Promise.resolve(t.app.adminApp.request(path, {
    method, headers: { authorization: `Bearer ${credential}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
  }))
  const create = async (name: string, roles: string[]) =>
    (await (await t.admin('POST', '/v1/admins', { name, roles })).json()) as { id: string; credential: string }
  const list = async () => ((await (await t.admin('GET', '/v1/admins')).json()) as { admins: AdminView[] }).admins
  const records = async (type: string) => (await t.storage.audit.records({ limit: 1000, type })) as AuditRecord[]
  const bootstrap = async () => (await list()).find((a) => a.name === 'bootstrap') as AdminView
  const code = async (response: Response) => ((await response.json()) as { code: string }).code

  it('whoami names the admin and the public URL agents use', async () => {
    expect(await (await t.admin('GET', '/v1/whoami')).json()).toMatchObject({ name: 'bootstrap', roles: ['admin'], public_url: ISSUER })
  })

  it('lists every credential with its roles, creation, last use and revocation, never its hash', async () => {
    const auditor = await create('auditor-1', ['auditor'])
    const admins = await list()
    expect(admins).toHaveLength(2)
    expect(admins.find((a) => a.id === auditor.id)).toMatchObject({ name: 'auditor-1', roles: ['auditor'], last_used_at: null, revoked_at: null, revoked_by: null })
    expect(await bootstrap()).toMatchObject({ roles: ['admin'], revoked_at: null, revoked_by: null })
    expect((await bootstrap()).last_used_at).toBe(new Date(t.clock.nowMs()).toISOString())
    expect(JSON.stringify(admins)).not.toMatch(/hash|credential/)
    // An auditor may see who holds access.
    expect((await as(auditor.credential, 'GET', '/v1/admins')).status).toBe(200)
  })

  it('records the last use at most once a minute', async () => {
    const first = (await bootstrap()).last_used_at
    t.clock.advance(30_000)
    expect((await bootstrap()).last_used_at).toBe(first)
    t.clock.advance(30_000)
    expect((await bootstrap()).last_used_at).toBe(new Date(t.clock.nowMs()).toISOString())
  })

  it('refuses a revoked credential at its very next request, and audits the revocation once, naming who did it', async () => {
    const ops = await create('ops', ['approver'])
    expect((await as(ops.credential, 'GET', '/v1/whoami')).status).toBe(200)
    const revoked = await t.admin('POST', `/v1/admins/${ops.id}/revoke`)
    expect(revoked.status).toBe(200)
    const bootstrapId = (await bootstrap()).id
    expect(await revoked.json()).toMatchObject({ id: ops.id, revoked_by: bootstrapId, revoked_at: new Date(t.clock.nowMs()).toISOString() })
    const refused = await as(ops.credential, 'GET', '/v1/whoami')
    expect(refused.status).toBe(401)
    expect(await code(refused)).toBe('ADMIN_UNAUTHENTICATED')
    const audit = await records('admin.revoke')
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ actor: { kind: 'admin', id: bootstrapId }, data: { admin_id: ops.id, name: 'ops', roles: ['approver'] } })
    expect(await code(await t.admin('POST', `/v1/admins/${ops.id}/revoke`))).toBe('ADMIN_REVOKED')
    expect(await code(await t.admin('POST', '/v1/admins/0123456789abcdef/revoke'))).toBe('ADMIN_NOT_FOUND')
  })

  it('refuses to revoke the last active admin, and revokes the bootstrap credential once another admin exists', async () => {
    const bootstrapId = (await bootstrap()).id
    const last = await t.admin('POST', `/v1/admins/${bootstrapId}/revoke`)
    expect(last.status).toBe(409)
    expect(await last.json()).toMatchObject({ code: 'ADMIN_LAST_ACTIVE' })
    // A second credential without the admin role does not count.
    await create('approver-1', ['approver'])
    expect(await code(await t.admin('POST', `/v1/admins/${bootstrapId}/revoke`))).toBe('ADMIN_LAST_ACTIVE')

    const alice = await create('alice', ['admin'])
    expect((await as(alice.credential, 'POST', `/v1/admins/${bootstrapId}/revoke`)).status).toBe(200)
    expect((await t.admin('GET', '/v1/whoami')).status).toBe(401)
    // Alice is now the last one: she cannot revoke herself.
    expect(await code(await as(alice.credential, 'POST', `/v1/admins/${alice.id}/revoke`))).toBe('ADMIN_LAST_ACTIVE')
    expect(await records('admin.revoke')).toHaveLength(1)
  })

  it('audits a refusal for a missing role, naming the admin and the role, like an authentication failure', async () => {
    const auditor = await create('auditor-1', ['auditor'])
    const refused = await as(auditor.credential, 'POST', `/v1/admins/${auditor.id}/revoke`)
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ code: 'ADMIN_FORBIDDEN', reasons: ['role_required:admin'] })
    expect(await code(await as(auditor.credential, 'POST', '/v1/keys/rotate'))).toBe('ADMIN_FORBIDDEN')
    const audit = await records('admin.authorization_fail')
    expect(audit).toMatchObject([
      { actor: { kind: 'admin', id: auditor.id }, decision: { effect: 'deny', reasons: ['role_required:admin'] }, data: { method: 'POST', path: `/v1/admins/${auditor.id}/revoke`, code: 'ADMIN_FORBIDDEN' } },
      { actor: { kind: 'admin', id: auditor.id }, data: { path: '/v1/keys/rotate' } },
    ])
    expect(JSON.stringify(audit)).not.toContain(auditor.credential)
  })

  it('audits an approver refused an approval it may not decide', async () => {
    const bot = await t.register(exampleDocument('deploy-bot'))
    const held = (await (await t.requestCapability(bot, 'deploy.run', 'service:billing')).json()) as { auth_req_id: string }
    const refused = await t.admin('POST', `/v1/approvals/${held.auth_req_id}/approve`)
    expect(await code(refused)).toBe('APPROVER_NOT_ALLOWED')
    expect(await records('admin.authorization_fail')).toMatchObject([
      { decision: { reasons: ['approver_role_missing'] }, data: { code: 'APPROVER_NOT_ALLOWED', path: `/v1/approvals/${held.auth_req_id}/approve` } },
    ])
  })

  it('does not audit calls that succeed or fail for other reasons', async () => {
    await t.admin('GET', '/v1/agents/no-such-agent')
    await t.admin('GET', '/v1/admins')
    expect(await records('admin.authorization_fail')).toEqual([])
  })
})
