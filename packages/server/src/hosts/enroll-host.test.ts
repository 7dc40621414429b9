import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { verifyChain } from '../audit/verify-chain.js'
import { createTestApp, type TestApp } from '../test-app.fixture.js'
import { newKeyPair } from '../resource-servers/resource-server-test.fixture.js'
import { createJoinToken, enroll, enrollTestHost, sshEd25519Line } from './host-test.fixture.js'

describe('host enrollment and administration', () => {
  let t: TestApp
  beforeEach(async () => { t = await createTestApp() })
  afterEach(async () => t.close())

  it('enrolls a host with a join token: labels from the token, audience urn:writ:host:<name>, audited without the token', async () => {
    const join = await createJoinToken(t, { labels: { env: 'prod', role: 'web' }, ttl_seconds: 600 })
    expect(join.token).toMatch(/^writ-join-[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$/)
    const { publicJwk } = await newKeyPair()
    const response = await enroll(t, { join_token: join.token, name: 'web-1', client_public_key: publicJwk, ssh_host_public_key: sshEd25519Line('root@web-1') })
    expect(response.status).toBe(201)
    const body = await response.json() as Record<string, unknown>
    expect(body).toMatchObject({ name: 'web-1', labels: { env: 'prod', role: 'web' }, audience: 'urn:writ:host:web-1', issuer: 'http://writ.test' })
    const shown = await (await t.admin('GET', '/v1/hosts/web-1')).json() as Record<string, unknown>
    expect(shown).toMatchObject({ id: body.host_id, status: 'active', version: 1, audience: 'urn:writ:host:web-1' })
    expect(String(shown.ssh_host_public_key)).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+$/)
    expect(t.app.hosts.byName('web-1')?.id).toBe(body.host_id)
    const records = await t.storage.audit.tail(10)
    expect(records.find((r) => r.type === 'host.join_token.create')).toMatchObject({ actor: { kind: 'admin' }, data: { join_token_id: join.id } })
    expect(records.find((r) => r.type === 'host.enroll')).toMatchObject({ actor: { kind: 'host', id: body.host_id }, data: { name: 'web-1', join_token_id: join.id } })
    const secret = join.token.split('.')[1] as string
    for (const row of await t.storage.db.selectFrom('audit_events').select('record').execute()) expect(row.record).not.toContain(secret)
    const stored = await t.storage.db.selectFrom('host_join_tokens').selectAll().execute()
    expect(JSON.stringify(stored)).not.toContain(secret)
    expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
  })

  it('a host authenticates with private_key_jwt, gets Writ\'s API token, and the host-only endpoints resolve it', async () => {
    const host = await enrollTestHost(t, 'web-2')
    const token = await host.apiToken()
    expect(await t.app.authenticateHost(`Bearer ${token}`)).toMatchObject({ id: host.enrolled.host_id, name: 'web-2' })
    // A plain resource server's API token is not a host's.
    const { registerResourceServer } = await import('../resource-servers/resource-server-test.fixture.js')
    const rs = await registerResourceServer(t, 'billing-api', 'https://billing.example.com')
    const rsToken = await (await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...(await rs.clientAuth()) })).json() as { access_token: string }
    await expect(t.app.authenticateHost(`Bearer ${rsToken.access_token}`)).rejects.toMatchObject({ code: 'TOKEN_INVALID', reasons: ['host_not_active'] })
    await expect(t.app.authenticateHost(undefined)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
  })

  it('the join token may preset the name; a different name is refused', async () => {
    const join = await createJoinToken(t, { name: 'db-1', labels: { env: 'staging' } })
    const { publicJwk } = await newKeyPair()
    const wrong = await enroll(t, { join_token: join.token, name: 'db-2', client_public_key: publicJwk, ssh_host_public_key: sshEd25519Line() })
    expect(wrong.status).toBe(400)
    expect(await wrong.json()).toMatchObject({ code: 'HOST_ENROLLMENT_INVALID' })
    const right = await enroll(t, { join_token: join.token, client_public_key: publicJwk, ssh_host_public_key: sshEd25519Line() })
    expect(right.status).toBe(201)
    expect(await right.json()).toMatchObject({ name: 'db-1', labels: { env: 'staging' } })
  })

  it('labels change with a new version and an audit record', async () => {
    const host = await enrollTestHost(t, 'web-3', { env: 'prod', role: 'web' })
    const response = await t.admin('PATCH', '/v1/hosts/web-3/labels', { set: { env: 'staging' }, remove: ['role'] })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ labels: { env: 'staging' }, version: 2 })
    expect(t.app.hosts.byName('web-3')?.labels).toEqual({ env: 'staging' })
    expect((await t.storage.audit.tail(1))[0]).toMatchObject({ type: 'host.update', data: { host_id: host.enrolled.host_id, fields: ['labels.env', 'labels.role'] } })
    const versions = await (await t.admin('GET', `/v1/hosts/${host.enrolled.host_id}/versions`)).json() as { versions: unknown[] }
    expect(versions.versions).toHaveLength(2)
    expect((await t.admin('PATCH', '/v1/hosts/web-3/labels', { set: { 'Bad Key': 'x' } })).status).toBe(400)
  })

  it('removal is final: the client cannot authenticate, its API token stops working, the name is never reused', async () => {
    const host = await enrollTestHost(t, 'web-4')
    const token = await host.apiToken()
    const removed = await t.admin('DELETE', '/v1/hosts/web-4', { reason: 'decommissioned' })
    expect(removed.status).toBe(200)
    expect(await removed.json()).toMatchObject({ status: 'removed' })
    expect((await t.storage.audit.tail(1))[0]).toMatchObject({ type: 'host.remove', data: { reason: 'decommissioned' } })
    const refused = await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...(await host.clientAuth()) })
    expect(refused.status).toBe(401)
    await expect(t.app.authenticateHost(`Bearer ${token}`)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    const again = await createJoinToken(t)
    const { publicJwk } = await newKeyPair()
    const reuse = await enroll(t, { join_token: again.token, name: 'web-4', client_public_key: publicJwk, ssh_host_public_key: sshEd25519Line() })
    expect(reuse.status).toBe(409)
    expect(await reuse.json()).toMatchObject({ code: 'HOST_CONFLICT' })
    expect((await t.admin('DELETE', '/v1/hosts/web-4')).status).toBe(409)
    // Its resource server cannot be changed behind the host registry's back.
    expect((await t.admin('DELETE', `/v1/resource-servers/${host.enrolled.host_id}`)).status).toBe(409)
  })

  it('the resource-server registry refuses the names and audiences reserved for hosts', async () => {
    const { publicJwk } = await newKeyPair()
    for (const [name, audience] of [['host.web-9', 'https://x.example.com'], ['ok-name', 'urn:writ:host:web-9']]) {
      const response = await t.admin('POST', '/v1/resource-servers', { name, audience, jwks: { keys: [publicJwk] } })
      expect(response.status).toBe(400)
    }
  })

  it('join tokens: defaults to 15 minutes, at most 24 hours, admin role required', async () => {
    const join = await createJoinToken(t)
    expect(Date.parse(join.expires_at) - t.clock.nowMs()).toBe(15 * 60 * 1000)
    expect((await t.admin('POST', '/v1/hosts/join-tokens', { ttl_seconds: 24 * 3600 + 1 })).status).toBe(400)
    expect((await t.admin('POST', '/v1/hosts/join-tokens', { labels: { env: 'has space' } })).status).toBe(400)
    expect((await t.admin('GET', '/v1/hosts')).status).toBe(200)
  })
})
