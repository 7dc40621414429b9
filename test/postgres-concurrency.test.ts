/**
 * Two replicas on one PostgreSQL database: both append to the one audit chain at full speed (the head row lock
 * serialises them), so the chain still verifies, every received token is audited once, and no jti repeats.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStorage, verifyChain } from '@writ/server'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../packages/server/src/storage/test-database.fixture.js'
import {
  duplicates, ensureServerBuilt, generateLoad, killAllServers, LOAD_TEST_RATE_LIMITS, readAdminToken, registerAgent, startServerProcess,
  type LoadResult, type ServerProcess,
} from './server-process.fixture.js'

const LOAD_MS = 4_000
const CLIENTS_PER_SERVER = 6
const MAX_REQUESTS_PER_CLIENT = 5_000

describe.skipIf(!TEST_DATABASE_URL)(`two replicas on one database: ${describePostgres()}`, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined
  const dataDirs: string[] = []
  const servers: ServerProcess[] = []

  beforeAll(async () => {
    await ensureServerBuilt()
    database = await createTestDatabase()
    const env = { WRIT_STORAGE__DRIVER: 'postgres', WRIT_STORAGE__URL: database.url, ...LOAD_TEST_RATE_LIMITS }
    // One after the other: the first start migrates and creates the bootstrap admin; the second finds both done.
    for (const name of ['a', 'b']) {
      const dataDir = mkdtempSync(join(tmpdir(), `writ-pg-${name}-`))
      dataDirs.push(dataDir)
      servers.push(await startServerProcess({ dataDir, env }))
    }
  })

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGTERM', 10_000).catch(() => undefined)))
    killAllServers()
    await database?.drop()
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
  })

  it('two server processes on the same PostgreSQL issue tokens at full speed; the chain verifies and no jti repeats', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess]
    const agent = await registerAgent(a.adminUrl, readAdminToken(a.dataDir), 'replica-bot')
    expect(a.issuer).not.toBe(b.issuer)

    const started = Date.now()
    const stop = () => Date.now() - started >= LOAD_MS
    const loads = await Promise.all([a, b].map((target) => generateLoad({
      target, agent, concurrency: CLIENTS_PER_SERVER, maxPerLoop: MAX_REQUESTS_PER_CLIENT, stop, stopOnNetworkError: false,
    })))
    const elapsedMs = Date.now() - started
    const [fromA, fromB] = loads as [LoadResult, LoadResult]
    for (const [name, load, server] of [['a', fromA, a], ['b', fromB, b]] as const) {
      expect(load.networkErrors, `replica ${name}: ${String(load.firstNetworkError)}\n${server.output()}`).toBe(0)
      expect([...load.statuses].filter(([status]) => status !== 200), `replica ${name}: non-200 answers\n${server.output()}`).toEqual([])
      expect(load.jtis.length, `replica ${name} issued nothing`).toBeGreaterThan(0)
    }
    const received = [...fromA.jtis, ...fromB.jtis]

    // Both replicas are still up and drain cleanly: what they committed is all there is.
    await Promise.all(servers.map(async (s) => expect(await s.stop('SIGTERM', 15_000)).toEqual({ code: 0, signal: null })))

    const storage = await openStorage({ driver: 'postgres', url: (database as { url: string }).url, migrate: false, poolSize: 2 })
    try {
      const chain = await verifyChain(storage.audit)
      expect(chain, JSON.stringify(chain.firstBad)).toMatchObject({ ok: true })
      const { n: auditRows } = await storage.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      expect(chain.count).toBe(Number(auditRows))

      const issues = (await storage.db.selectFrom('audit_events').select('record').where('type', '=', 'token.issue').orderBy('seq').execute())
        .map((row) => JSON.parse(row.record) as { token: { jti: string }; data: { kid: string } })
      const audited = issues.map((r) => r.token.jti)
      const recorded = (await storage.db.selectFrom('issued_tokens').select('jti').execute()).map((r) => r.jti)

      expect(duplicates(received), 'a jti was received twice').toEqual([])
      expect(duplicates(audited), 'a jti has two token.issue records').toEqual([])
      expect(duplicates(recorded), 'a jti has two issued_tokens rows').toEqual([])
      const auditedSet = new Set(audited)
      expect(received.filter((jti) => !auditedSet.has(jti)), 'received tokens with no token.issue record').toEqual([])
      expect(new Set(recorded)).toEqual(auditedSet)
      // Every request was answered, so nothing was committed that the clients did not receive.
      expect(audited.length).toBe(received.length)

      // Each replica signs with its own key, so the kid in the records shows whose append each one was.
      const kids = issues.map((r) => r.data.kid)
      const handovers = kids.filter((kid, i) => i > 0 && kid !== kids[i - 1]).length
      expect(new Set(kids).size).toBe(2)
      process.stdout.write(`postgres-concurrency: ${received.length} tokens in ${(elapsedMs / 1000).toFixed(1)} s ` +
        `(a ${fromA.jtis.length}, b ${fromB.jtis.length}), ${chain.count} audit records, ${handovers} hand-overs of the chain head between replicas, ` +
        `duplicates 0\n`)
    } finally {
      await storage.close()
    }
  }, 90_000)
})
