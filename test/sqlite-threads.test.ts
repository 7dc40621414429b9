/**
 * The SQLite threads as they run in a build. The commit thread (tokens/issuance-thread.ts): a batch commits on the
 * worker's own connection, a failing write refuses the whole batch (fail closed), a thread that dies is replaced.
 * The maintenance thread (storage/sqlite-maintenance-thread.ts): prunes only expired replay rows, checkpoints the WAL.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStorage, verifyChain, type Storage } from '@writ/server'
import { ensureServerBuilt } from './server-process.fixture.js'

interface Thread {
  write(entries: unknown[], nowMs: number): Promise<string[]>
  close(): Promise<void>
}
interface ThreadModule { IssuanceThread: { available(): boolean; start(path: string): Promise<Thread> } }
interface Maintenance {
  prune(nowMs: number): void
  verifyChain(from: { seq: number; hash: string } | undefined, pageSize: number): Promise<Awaited<ReturnType<typeof verifyChain>>>
  close(): Promise<void>
}
interface MaintenanceModule { SqliteMaintenanceThread: { available(): boolean; start(path: string, logger: unknown): Promise<Maintenance> } }

const NOW = Date.UTC(2026, 11, 1, 12)

function issue(agentId: string): Record<string, unknown> {
  const jti = randomUUID()
  return {
    assertion: { clientId: agentId, jti: randomUUID(), expiresAtMs: NOW + 120_000 },
    agent: { id: agentId, version: 1 },
    token: { jti, agent_id: agentId, task_id: 'T-1', action: 'tests.run', resource: 'repo:acme/billing', audience: 'urn:writ:resource-server', issued_at: NOW, expires_at: NOW + 300_000, parent_jti: null },
    audit: { type: 'token.issue', actor: { kind: 'agent', id: agentId }, task: { id: 'T-1' }, decision: { effect: 'allow', reasons: ['policy_permit:default'] }, token: { jti, exp: NOW / 1000 + 300 } },
  }
}

describe('the SQLite commit thread', () => {
  let dir: string
  let storage: Storage
  let thread: Thread
  let threads: ThreadModule

  beforeAll(async () => {
    await ensureServerBuilt()
    // The compiled module: the worker it starts is the compiled issuance-worker.js beside it.
    threads = await import('../packages/server/dist/tokens/issuance-thread.js') as ThreadModule
    expect(threads.IssuanceThread.available()).toBe(true)
    dir = mkdtempSync(join(tmpdir(), 'writ-commit-thread-'))
    storage = await openStorage({ driver: 'sqlite', sqlitePath: join(dir, 'writ.db') })
    await storage.agents.insert({ id: 'agt_1', name: 'bot', status: 'active', version: 1, document: {} as never, created_at: new Date(NOW).toISOString(), updated_at: new Date(NOW).toISOString() })
    thread = await threads.IssuanceThread.start(join(dir, 'writ.db'))
  })

  afterAll(async () => {
    await thread?.close()
    await storage?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('commits a batch on its own connection, visible to the server connection, with the chain intact', async () => {
    const replayed = issue('agt_1')
    const outcomes = await thread.write([issue('agt_1'), replayed, { ...issue('agt_1'), assertion: (replayed as { assertion: unknown }).assertion }], NOW)
    expect(outcomes).toEqual(['committed', 'committed', 'assertion_replayed'])
    expect(await storage.tokens.countIssued()).toBe(2)
    const records = await storage.audit.tail(10)
    expect(records.map((r) => r.type)).toEqual(['token.issue', 'token.issue', 'token.deny'])
    expect((await verifyChain(storage.audit)).ok).toBe(true)
  })

  it('refuses the whole batch when the audit append fails, and writes nothing of it', async () => {
    await sql`create trigger audit_fail before insert on audit_events begin select raise(fail, 'injected audit failure'); end`.execute(storage.db)
    const before = await storage.tokens.countIssued()
    await expect(thread.write([issue('agt_1'), issue('agt_1')], NOW)).rejects.toThrow(/injected audit failure/)
    expect(await storage.tokens.countIssued()).toBe(before)
    await sql`drop trigger audit_fail`.execute(storage.db)
    expect(await thread.write([issue('agt_1')], NOW)).toEqual(['committed'])
  })

  it('starts a new thread for the next batch when the thread has died', async () => {
    // The worker is private; terminating it (while idle: inside a SQLite call, terminate() aborts the process in
    // better-sqlite3) stands in for a thread that died. Batches it held are rejected by the exit handler.
    const worker = (thread as unknown as { worker: { terminate(): Promise<number> } }).worker
    await worker.terminate()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await thread.write([issue('agt_1')], NOW)).toEqual(['committed'])
    expect(await storage.tokens.countIssued()).toBe(4)
    expect((await verifyChain(storage.audit)).ok).toBe(true)
  })

  it('the maintenance thread prunes only expired replay rows, in chunks, and checkpoints the WAL', async () => {
    const maintenance = await import('../packages/server/dist/storage/sqlite-maintenance-thread.js') as MaintenanceModule
    expect(maintenance.SqliteMaintenanceThread.available()).toBe(true)
    const warnings: string[] = []
    const logger = { debug() {}, info() {}, warn: (message: string) => warnings.push(message), error: (message: string) => warnings.push(message) }
    const rows = Array.from({ length: 2_500 }, (_, i) => ({ client_id: 'agt_1', jti: `old-${i}`, expires_at: NOW - 1 }))
    for (let i = 0; i < rows.length; i += 500) await storage.tokens.useAssertions(rows.slice(i, i + 500))
    await storage.tokens.useAssertions([{ client_id: 'agt_1', jti: 'live', expires_at: NOW + 60_000 }])
    // The rows above sit in the WAL (far below the autocheckpoint): the database file grows only when they are copied.
    const fileSize = () => statSync(join(dir, 'writ.db')).size
    const before = fileSize()
    const thread = await maintenance.SqliteMaintenanceThread.start(join(dir, 'writ.db'), logger)
    try {
      thread.prune(NOW)
      const remaining = async () => Number((await sql<{ n: number }>`select count(*) as n from used_assertions where jti like 'old-%'`.execute(storage.db)).rows[0]?.n)
      for (let i = 0; i < 100 && (await remaining()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
      expect(await remaining()).toBe(0)
      expect(await storage.tokens.useAssertions([{ client_id: 'agt_1', jti: 'live', expires_at: NOW + 60_000 }])).toEqual(new Set())
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(fileSize()).toBeGreaterThan(before)
    } finally {
      await thread.close()
    }
    expect(warnings).toEqual([])
  })

  it('the maintenance thread walks the audit chain for the self-check as verifyChain does in the server thread', async () => {
    const maintenance = await import('../packages/server/dist/storage/sqlite-maintenance-thread.js') as MaintenanceModule
    const logger = { debug() {}, info() {}, warn() {}, error() {} }
    const thread = await maintenance.SqliteMaintenanceThread.start(join(dir, 'writ.db'), logger)
    try {
      const whole = await thread.verifyChain(undefined, 2)
      expect(whole).toEqual(await verifyChain(storage.audit, { pageSize: 2 }))
      expect(whole.ok).toBe(true)
      const from = { seq: whole.headSeq, hash: whole.headHash }
      expect(await thread.verifyChain(from, 2)).toMatchObject({ ok: true, count: 0, headSeq: whole.headSeq })
      // The record the last walk ended on, edited afterwards: the incremental walk re-checks it and names it.
      await sql`update audit_events set record = replace(record, 'T-1', 'T-2') where seq = ${whole.headSeq}`.execute(storage.db)
      expect(await thread.verifyChain(from, 2)).toMatchObject({ ok: false, firstBad: { seq: whole.headSeq } })
    } finally {
      await thread.close()
    }
  })
})
