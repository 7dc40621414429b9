#!/usr/bin/env node
/**
 * bench/commit: the cost of one SQLite group-commit transaction of the token endpoint (tokens/write-issuances.ts)
 * through Kysely (the in-thread writer) and through the commit thread's prepared statements (SqliteIssuanceStore),
 * against the same rows written with bare better-sqlite3 statements in the same run; plus the two storage decisions it backs: time-ordered token ids
 * (UUIDv7) against random ones, and commit latency with and without SQLite's own WAL auto-checkpoint.
 *
 *   npm run bench:commit            # tsc -b && node bench/commit.js
 *   node bench/commit.js --quick    # fewer commits
 *
 * Progress goes to stderr; the last line of stdout is one JSON object with the figures.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { openStorage } from '../packages/server/dist/storage/open-storage.js'
import { openSqliteDatabase } from '../packages/server/dist/storage/open-sqlite-database.js'
import { SqliteIssuanceStore } from '../packages/server/dist/storage/sqlite-issuance-store.js'
import { writeIssuances } from '../packages/server/dist/tokens/write-issuances.js'
import { timeOrderedId } from '../packages/server/dist/tokens/token-id.js'
import { sealRecord } from '../packages/server/dist/audit/audit-record.js'

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1'
const TOKENS = quick ? 2_000 : 8_000
const log = (message) => process.stderr.write(`[bench:commit] ${message}\n`)
const round = (x) => Math.round(x * 10) / 10
const NOW = Date.UTC(2026, 11, 1)
const dir = mkdtempSync(join(tmpdir(), 'writ-bench-commit-'))
let files = 0

/** A new migrated database file holding the one agent, closed again; both writers open it themselves. */
async function freshDatabase() {
  const path = join(dir, `commit-${files++}.db`)
  const storage = await openStorage({ driver: 'sqlite', sqlitePath: path })
  const at = new Date(NOW).toISOString()
  await storage.agents.insert({ id: 'agt_1', name: 'bench', status: 'active', version: 1, document: {}, created_at: at, updated_at: at })
  await storage.close()
  return path
}

const openWrit = async () => openStorage({ driver: 'sqlite', sqlitePath: await freshDatabase(), migrate: false })

function entry(jti) {
  return {
    assertion: { clientId: 'agt_1', jti: randomUUID(), expiresAtMs: NOW + 150_000 },
    agent: { id: 'agt_1', version: 1 },
    token: { jti, agent_id: 'agt_1', task_id: 'T-1', action: 'tests.run', resource: 'repo:acme/billing', audience: 'urn:writ:resource-server', issued_at: NOW, expires_at: NOW + 300_000, parent_jti: null },
    audit: {
      type: 'token.issue', actor: { kind: 'agent', id: 'agt_1' }, task: { id: 'T-1' }, action: 'tests.run', resource: 'repo:acme/billing',
      decision: { effect: 'allow', reasons: ['policy_permit:default'] }, token: { jti, exp: NOW / 1000 + 300 },
      data: { policies: ['default'], policy_context: { agent_version: 1, effect: 'allow', time_ms: NOW, source_ip: '127.0.0.1', audience: 'urn:writ:resource-server', policy_version: 1 }, aud: 'urn:writ:resource-server', kid: 'k'.repeat(43) },
    },
  }
}

/** Runs `commit(batch)` for TOKENS tokens in batches of `size`; wall and CPU per transaction and per token. */
async function measure(size, makeJti, commit) {
  const batches = Array.from({ length: Math.ceil(TOKENS / size) }, () => Array.from({ length: size }, () => entry(makeJti())))
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (const batch of batches) await commit(batch)
  const wallUs = Number(process.hrtime.bigint() - t0) / 1_000
  const cpu = process.cpuUsage(cpu0)
  const n = batches.length
  return {
    batch: size, wall_us_per_commit: round(wallUs / n), user_us_per_commit: round(cpu.user / n), sys_us_per_commit: round(cpu.system / n),
    cpu_us_per_token: round((cpu.user + cpu.system) / (n * size)),
  }
}

/**
 * The same rows as writeIssuances writes for these entries, sealed the same way (RFC 8785 + SHA-256), through
 * prepared statements in one synchronous transaction: the baseline, what the statements cost without Kysely.
 */
function rawWriter(path) {
  const db = new BetterSqlite3(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  const use = db.prepare('insert into used_assertions (client_id, jti, expires_at) values (?, ?, ?) on conflict do nothing returning client_id')
  const status = db.prepare('select status, version from agents where id = ?')
  const token = db.prepare('insert into issued_tokens (jti, agent_id, task_id, action, resource, audience, issued_at, expires_at, parent_jti) values (?, ?, ?, ?, ?, ?, ?, ?, ?)')
  const head = db.prepare('select seq, hash from audit_head where id = 1')
  const audit = db.prepare('insert into audit_events (seq, time, type, record, prev_hash, hash) values (?, ?, ?, ?, ?, ?)')
  const move = db.prepare('update audit_head set seq = ?, hash = ? where id = 1')
  const write = db.transaction((batch) => {
    for (const e of batch) use.get(e.assertion.clientId, e.assertion.jti, e.assertion.expiresAtMs)
    status.get('agt_1')
    let { seq, hash } = head.get()
    for (const e of batch) {
      const t = e.token
      token.run(t.jti, t.agent_id, t.task_id, t.action, t.resource, t.audience, t.issued_at, t.expires_at, t.parent_jti)
      const { record, json } = sealRecord(e.audit, ++seq, NOW, hash)
      audit.run(seq, NOW, record.type, json, record.prev_hash, record.hash)
      hash = record.hash
    }
    move.run(seq, hash)
  })
  return { commit: async (batch) => write.immediate(batch), db }
}

// writeIssuances through Kysely (the in-thread writer: PostgreSQL, :memory:), through the commit thread's prepared
// statements (SqliteIssuanceStore), and the bare statements with no logic around them (the floor).
const results = { writ_kysely: [], writ_commit_thread: [], raw_prepared: [] }
for (const size of [1, 8, 32]) {
  const storage = await openWrit()
  results.writ_kysely.push(await measure(size, () => timeOrderedId(Date.now()), (batch) => storage.transaction((tx) => writeIssuances(tx, batch, NOW))))
  await storage.close()
  const database = openSqliteDatabase(await freshDatabase(), 8_000)
  const store = new SqliteIssuanceStore(database)
  results.writ_commit_thread.push(await measure(size, () => timeOrderedId(Date.now()), (batch) => store.transaction((tx) => writeIssuances(tx, batch, NOW))))
  database.close()
  const raw = rawWriter(await freshDatabase())
  results.raw_prepared.push(await measure(size, () => timeOrderedId(Date.now()), raw.commit))
  raw.db.close()
  log(`batch ${size}: kysely ${JSON.stringify(results.writ_kysely.at(-1))} commit thread ${JSON.stringify(results.writ_commit_thread.at(-1))} raw ${JSON.stringify(results.raw_prepared.at(-1))}`)
}

// Token ids: random UUIDv4 against time-ordered UUIDv7, through the real path, batches of 32, into an issued-token
// table that already holds PREFILL rows (it only grows: every token ever issued is recorded).
const PREFILL = quick ? 100_000 : 400_000
const ids = { prefilled_rows: PREFILL }
for (const [name, make] of [['random_uuid', () => randomUUID()], ['time_ordered', () => timeOrderedId(Date.now())]]) {
  const path = await freshDatabase()
  const db = new BetterSqlite3(path)
  const insert = db.prepare('insert into issued_tokens (jti, agent_id, task_id, action, resource, audience, issued_at, expires_at, parent_jti) values (?, ?, ?, ?, ?, ?, ?, ?, ?)')
  db.transaction(() => { for (let i = 0; i < PREFILL; i++) insert.run(make(), 'agt_1', 'T-1', 'tests.run', 'repo:acme/billing', 'urn:writ:resource-server', NOW, NOW, null) })()
  db.close()
  const storage = await openStorage({ driver: 'sqlite', sqlitePath: path, migrate: false })
  ids[name] = await measure(32, make, (batch) => storage.transaction((tx) => writeIssuances(tx, batch, NOW)))
  await storage.close()
  log(`jti ${name}: ${JSON.stringify(ids[name])}`)
}

// Commit latency with SQLite's own auto-checkpoint (inside commits) against none (another thread checkpoints).
const checkpoints = {}
for (const [name, pages] of [['auto_checkpoint_1000', 1_000], ['no_checkpoint_in_commit', 0]]) {
  const raw = rawWriter(await freshDatabase())
  raw.db.pragma(`wal_autocheckpoint = ${pages}`)
  const latencies = []
  for (let i = 0; i < (quick ? 1_500 : 5_000); i++) {
    const batch = Array.from({ length: 10 }, () => entry(timeOrderedId(Date.now())))
    const t0 = process.hrtime.bigint()
    await raw.commit(batch)
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  raw.db.close()
  latencies.sort((a, b) => a - b)
  const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 100) / 100
  checkpoints[name] = { p50_ms: at(0.5), p99_ms: at(0.99), max_ms: at(1) }
  log(`${name}: ${JSON.stringify(checkpoints[name])}`)
}

rmSync(dir, { recursive: true, force: true })
console.log(JSON.stringify({ benchmark: 'commit', tokens_per_size: TOKENS, commits: results, token_ids_batch_32: ids, commit_latency_batch_10: checkpoints, node: process.version }))
