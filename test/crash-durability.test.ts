/**
 * Crash durability of the token endpoint on SQLite: a token the client received is never missing from the audit
 * chain, however the process dies. SIGKILL lands mid-load, repeatedly, on the same data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStorage, verifyChain, type Storage } from '@writ/server'
import {
  duplicates, ensureServerBuilt, generateLoad, killAllServers, LOAD_TEST_RATE_LIMITS, readAdminToken, registerAgent, sleep, startServerProcess,
  type AgentKey,
} from './server-process.fixture.js'

const CYCLES = Number(process.env.WRIT_CRASH_CYCLES ?? (process.env.CI ? 20 : 3))
const CLIENTS = 8
// Per cycle the load lasts 200-800 ms; this only bounds a loop if the kill never comes.
const MAX_REQUESTS_PER_CLIENT = 20_000

describe('crash durability (SQLite, SIGKILL under load)', () => {
  let dataDir: string

  beforeAll(async () => {
    if (!Number.isInteger(CYCLES) || CYCLES < 1 || CYCLES > 500) throw new Error(`WRIT_CRASH_CYCLES must be an integer from 1 to 500, not ${CYCLES}`)
    await ensureServerBuilt()
    dataDir = mkdtempSync(join(tmpdir(), 'writ-crash-'))
  })

  afterAll(() => {
    killAllServers()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('every token a client received has its audit record after SIGKILL', async () => {
    const started = Date.now()
    const received: string[] = []
    const perCycle: number[] = []
    let agent: AgentKey | undefined

    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const server = await startServerProcess({ dataDir, env: LOAD_TEST_RATE_LIMITS })
      agent ??= await registerAgent(server.adminUrl, readAdminToken(dataDir), 'crash-bot')
      let killed = false
      const delayMs = 200 + Math.floor(Math.random() * 600)
      const killer = sleep(delayMs).then(async () => {
        killed = true
        server.child.kill('SIGKILL')
        return server.exited
      })
      const load = await generateLoad({
        target: server, agent, concurrency: CLIENTS, maxPerLoop: MAX_REQUESTS_PER_CLIENT, stop: () => killed, stopOnNetworkError: true,
      })
      const exit = await killer
      expect(exit.signal, `cycle ${cycle}: the server died of something else:\n${server.output()}`).toBe('SIGKILL')
      // Before the kill every answer is a token; a refusal or a 5xx under plain load would be a finding of its own.
      expect([...load.statuses].filter(([status]) => status !== 200), `cycle ${cycle}: non-200 answers; server output:\n${server.output()}`).toEqual([])
      received.push(...load.jtis)
      perCycle.push(load.jtis.length)
    }

    const storage = await openStorage({ driver: 'sqlite', sqlitePath: join(dataDir, 'writ.db'), migrate: false })
    try {
      const integrity = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(storage.db)
      expect(integrity.rows).toEqual([{ integrity_check: 'ok' }])

      const chain = await verifyChain(storage.audit)
      expect(chain, JSON.stringify(chain.firstBad)).toMatchObject({ ok: true })
      expect(chain.count).toBe(await countRows(storage, 'audit_events'))

      const audited = await issuedJtisInAudit(storage)
      const recorded = (await storage.db.selectFrom('issued_tokens').select('jti').execute()).map((r) => r.jti)
      expect(duplicates(received), 'a jti was issued twice').toEqual([])
      expect(duplicates(audited), 'a jti has two token.issue records').toEqual([])

      const auditedSet = new Set(audited)
      const recordedSet = new Set(recorded)
      const lostFromAudit = received.filter((jti) => !auditedSet.has(jti))
      const lostFromTokens = received.filter((jti) => !recordedSet.has(jti))
      // Token row and audit record commit in one transaction: neither exists without the other.
      expect(recorded.filter((jti) => !auditedSet.has(jti)), 'issued_tokens rows without a token.issue record').toEqual([])
      expect(audited.filter((jti) => !recordedSet.has(jti)), 'token.issue records without an issued_tokens row').toEqual([])

      process.stdout.write(`crash-durability: ${CYCLES} cycles, ${received.length} tokens acknowledged (per cycle ${perCycle.join(' ')}), ` +
        `${audited.length} committed, ${chain.count} audit records, lost = ${lostFromAudit.length}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
      expect(lostFromAudit, 'acknowledged tokens with no token.issue record').toEqual([])
      expect(lostFromTokens, 'acknowledged tokens with no issued_tokens row').toEqual([])
      expect(received.length, 'no cycle issued a token, so the test proved nothing').toBeGreaterThan(0)
    } finally {
      await storage.close()
    }
  }, CYCLES * 8_000 + 60_000)
})

async function issuedJtisInAudit(storage: Storage): Promise<string[]> {
  const rows = await storage.db.selectFrom('audit_events').select('record').where('type', '=', 'token.issue').orderBy('seq').execute()
  return rows.map((row) => {
    const jti = (JSON.parse(row.record) as { token?: { jti?: string } }).token?.jti
    if (typeof jti !== 'string') throw new Error(`a token.issue record has no token.jti: ${row.record}`)
    return jti
  })
}

async function countRows(storage: Storage, table: 'audit_events' | 'issued_tokens'): Promise<number> {
  const row = await storage.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}
