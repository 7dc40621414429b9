import { randomUUID } from 'node:crypto'
import { decodeJwt } from 'jose'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ResourceServerClient } from '@writ/sdk'
import { verifyChain } from '../audit/verify-chain.js'
import { openStorage } from '../storage/open-storage.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../storage/test-database.fixture.js'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { enrollTestHost, type TestHost } from './host-test.fixture.js'

describe('POST /hosts/actions: the action layer of the audit', () => {
  let t: TestApp
  let sre: TestAgent
  let host: TestHost
  let jti: string
  beforeEach(async () => {
    t = await createTestApp()
    sre = await t.register({ ...exampleDocument('sre-responder'), human_oversight: { required_for: [], approvers: [] } })
    host = await enrollTestHost(t, 'web-1', { env: 'prod' })
    const issued = await t.requestCapability(sre, 'sudo.exec', 'host:web-1', { parameters: JSON.stringify({ runas: 'root', argv: ['systemctl', 'restart', 'nginx'] }) })
    expect(issued.status).toBe(200)
    jti = decodeJwt(((await issued.json()) as { access_token: string }).access_token).jti as string
  })
  afterEach(async () => t.close())

  const report = (overrides: Record<string, unknown> = {}) => ({
    id: randomUUID(), jti, runas: 'root', argv: ['systemctl', 'restart', 'nginx'], command: '/usr/bin/systemctl', user: 'agent-sre',
    exit_status: 0, signal: null, started_at: t.clock.nowMs() - 1_000, ended_at: t.clock.nowMs(), outcome: 'ran', ...overrides,
  })
  const post = (body: unknown, token: string | undefined) => Promise.resolve(t.app.publicApp.request('/hosts/actions', {
    method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body),
  }))

  it('end to end with the SDK: the host authenticates, gets an API token, reports a run; one sudo.exec record linked to jti, agent and task', async () => {
    // The SDK's resource-server client works unchanged for a host: private_key_jwt with client_id = host id.
    const fetchApp: typeof fetch = async (input, init) => t.app.publicApp.request(new URL(String(input instanceof Request ? input.url : input)).pathname, init as RequestInit)
    const client = new ResourceServerClient({ issuer: ISSUER, clientId: host.enrolled.host_id, privateKey: host.privateJwk, fetch: fetchApp, now: () => t.clock.nowSeconds() } as never)
    const { token } = await client.apiToken()
    const one = report()
    const response = await post({ reports: [one] }, token)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ accepted: 1, rejected: [] })
    const [record] = (await t.storage.audit.tail(1))
    expect(record).toMatchObject({
      type: 'sudo.exec', layer: 'action', actor: { kind: 'host', id: host.enrolled.host_id }, on_behalf_of: sre.agent.id,
      task: { id: 'T-42' }, token: { jti }, action: 'sudo.exec', resource: 'host:web-1',
      data: { report_id: one.id, host: 'web-1', runas: 'root', argv: ['systemctl', 'restart', 'nginx'], exit_status: 0, outcome: 'ran' },
    })
    // Re-sending the same report is a no-op that still answers 200.
    expect(await (await post({ reports: [one] }, token)).json()).toEqual({ accepted: 1, rejected: [] })
    expect((await t.storage.audit.tail(5)).filter((r) => r.type === 'sudo.exec')).toHaveLength(1)
    const all = JSON.stringify(await t.storage.db.selectFrom('audit_events').select('record').execute())
    expect(all).not.toContain(token.split('.')[2])
    expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
  })

  it('rejects a report whose jti was not issued for this host, and does not audit it', async () => {
    const other = await enrollTestHost(t, 'web-2')
    const response = await post({ reports: [report({ id: randomUUID() })] }, await other.apiToken())
    expect(await response.json()).toMatchObject({ accepted: 0, rejected: [{ reason: 'jti_not_issued_for_host' }] })
    const unknown = await post({ reports: [report({ jti: 'made-up' })] }, await host.apiToken())
    expect(await unknown.json()).toMatchObject({ accepted: 0, rejected: [{ reason: 'jti_not_issued_for_host' }] })
    expect((await t.storage.audit.tail(5)).filter((r) => r.type === 'sudo.exec')).toHaveLength(0)
  })

  it('records a refused run with its reason', async () => {
    const refused = report({ outcome: 'refused', reason: 'argv_mismatch', exit_status: null, ended_at: null })
    expect((await post({ reports: [refused] }, await host.apiToken())).status).toBe(200)
    expect((await t.storage.audit.tail(1))[0]).toMatchObject({ type: 'sudo.exec', decision: { effect: 'deny', reasons: ['argv_mismatch'] }, data: { outcome: 'refused' } })
  })

  const hostile: Array<[string, () => Promise<[unknown, string | undefined]>, number]> = [
    ['no token', async () => [{ reports: [report()] }, undefined], 401],
    ['an agent\'s capability token as bearer', async () => [{ reports: [report()] }, 'eyJ.eyJ.x'], 401],
    ['more than 100 reports', async () => [{ reports: Array.from({ length: 101 }, () => report()) }, await host.apiToken()], 400],
    ['a report id that is not a UUID', async () => [{ reports: [report({ id: 'r-1' })] }, await host.apiToken()], 400],
    ['argv with a NUL', async () => [{ reports: [report({ argv: ['a\u0000b'] })] }, await host.apiToken()], 400],
    ['an unknown member', async () => [{ reports: [report({ token: 'secret' })] }, await host.apiToken()], 400],
    ['an empty batch', async () => [{ reports: [] }, await host.apiToken()], 400],
  ]
  for (const [name, make, status] of hostile) {
    it(`refuses ${name}`, async () => {
      const [body, token] = await make()
      expect((await post(body, token)).status).toBe(status)
      expect((await t.storage.audit.tail(5)).filter((r) => r.type === 'sudo.exec')).toHaveLength(0)
    })
  }

  it('a removed host cannot report', async () => {
    const token = await host.apiToken()
    await t.admin('DELETE', '/v1/hosts/web-1')
    expect((await post({ reports: [report()] }, token)).status).toBe(401)
  })
})

describe.skipIf(!TEST_DATABASE_URL)(describePostgres(), () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined
  afterAll(async () => database?.drop())

  it('enroll, issue sudo.exec for the host, report it three times at once: one sudo.exec record (PostgreSQL)', async () => {
    database = await createTestDatabase()
    const storage = await openStorage({ driver: 'postgres', url: database.url })
    const t = await createTestApp({ storage })
    try {
      const sre = await t.register({ ...exampleDocument('sre-responder'), human_oversight: { required_for: [], approvers: [] } })
      const host = await enrollTestHost(t, 'web-1')
      const issued = await t.requestCapability(sre, 'sudo.exec', 'host:web-1', { parameters: JSON.stringify({ runas: 'root', argv: ['true'] }) })
      expect(issued.status).toBe(200)
      const jti = decodeJwt(((await issued.json()) as { access_token: string }).access_token).jti as string
      const token = await host.apiToken()
      const body = JSON.stringify({ reports: [{ id: randomUUID(), jti, runas: 'root', argv: ['true'], command: '/usr/bin/true', user: 'agent', exit_status: 0, signal: null, started_at: 1, ended_at: 2, outcome: 'ran' }] })
      const answers = await Promise.all(Array.from({ length: 3 }, () => t.app.publicApp.request('/hosts/actions', {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body,
      })))
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200])
      expect((await t.storage.audit.tail(10)).filter((r) => r.type === 'sudo.exec')).toHaveLength(1)
      expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
    } finally {
      await t.close()
    }
  })
})
