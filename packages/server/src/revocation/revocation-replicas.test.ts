import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { WritError } from '@writ/sdk'
import { createTestApp, type TestApp } from '../test-app.fixture.js'
import { openStorage } from '../storage/open-storage.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../storage/test-database.fixture.js'
import type { StreamAuthorization } from './revocation-streams.js'
import { readSse, type SseReader } from './sse-reader.fixture.js'

const authorize = async (header: string | undefined): Promise<StreamAuthorization> => {
  if (header !== 'Bearer test') throw new WritError('TOKEN_INVALID', 'no')
  return { clientId: 'rs-1', expMs: Date.now() + 600_000 }
}

describe.skipIf(!TEST_DATABASE_URL)(`two replicas on one ${describePostgres()}`, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>
  let one: TestApp
  let two: TestApp
  let stream: SseReader
  beforeAll(async () => {
    database = await createTestDatabase()
    // The backstop poll is slowed to a minute: what arrives within seconds came through LISTEN/NOTIFY or the
    // listener's catch-up after a reconnect.
    const config = { storage: { driver: 'postgres' as const, url: database.url }, revocation: { pollIntervalMs: 60_000 } }
    one = await createTestApp({ config, storage: await openStorage({ driver: 'postgres', url: database.url }), authorizeStream: authorize })
    two = await createTestApp({ config, storage: await openStorage({ driver: 'postgres', url: database.url }), authorizeStream: authorize })
    const response = await two.app.publicApp.request('/revocations/events', { headers: { authorization: 'Bearer test' } })
    stream = readSse(response.body as ReadableStream<Uint8Array>)
    await stream.until((m) => m.some((x) => x.event === 'heartbeat'))
  })
  afterAll(async () => {
    await stream?.cancel()
    await two?.close()
    await one?.close()
    await database?.drop()
  })

  const revokeOnOne = async (jti: string) => {
    const response = await one.admin('POST', '/v1/revocations', { kind: 'token', jti, reason: 'replica test' })
    expect(response.status, await response.clone().text()).toBe(201)
  }

  it('a revocation made on one replica reaches a stream on the other, and the other refuses it too', async () => {
    await revokeOnOne('r-1')
    await stream.until(() => stream.revocations().length === 1, 5_000)
    expect(stream.revocations()[0]).toMatchObject({ id: 1, kind: 'token', jti: 'r-1' })
    expect(two.app.revocationState.isRevoked({ iss: two.app.issuer, jti: 'r-1', sub: 'a', client_id: 'a', iat: 0, task: { id: 'T' } }, undefined)).toBe(true)
  })

  it('misses nothing when the listening connection is killed: it reconnects and catches up from storage', async () => {
    const listener = two.app.revocationListener
    expect(listener).toBeDefined()
    const pid = listener?.backendPid
    expect(pid).toBeTypeOf('number')
    const admin = new pg.Client({ connectionString: database.url })
    await admin.connect()
    try {
      await admin.query('select pg_terminate_backend($1)', [pid])
      // Committed while the listener is down or reconnecting: no notification reaches it for some of these.
      for (let i = 2; i <= 6; i++) await revokeOnOne(`r-${i}`)
    } finally {
      await admin.end()
    }
    await stream.until(() => stream.revocations().length === 6, 10_000)
    expect(stream.revocations().map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6])
    await listener?.whenConnected()
    expect(listener?.backendPid).not.toBe(pid)
    // And live again through the new connection.
    await revokeOnOne('r-7')
    await stream.until(() => stream.revocations().length === 7, 5_000)
  })
})

describe('two processes on one SQLite file', () => {
  it('the second learns of a revocation made through the first by polling storage', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = mkdtempSync(join(tmpdir(), 'writ-revocation-sqlite-'))
    const path = join(dir, 'writ.db')
    const config = { revocation: { pollIntervalMs: 100 } }
    const one = await createTestApp({ config, storage: await openStorage({ driver: 'sqlite', sqlitePath: path }) })
    const two = await createTestApp({ config, storage: await openStorage({ driver: 'sqlite', sqlitePath: path }), authorizeStream: authorize })
    try {
      const response = await two.app.publicApp.request('/revocations/events', { headers: { authorization: 'Bearer test' } })
      const stream = readSse(response.body as ReadableStream<Uint8Array>)
      await stream.until((m) => m.some((x) => x.event === 'heartbeat'))
      expect((await one.admin('POST', '/v1/revocations', { kind: 'task', task_id: 'T-1', reason: 'x' })).status).toBe(201)
      await stream.until(() => stream.revocations().length === 1, 5_000)
      expect(stream.revocations()[0]).toMatchObject({ id: 1, kind: 'task', task_id: 'T-1' })
      await stream.cancel()
    } finally {
      await two.close()
      await one.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
