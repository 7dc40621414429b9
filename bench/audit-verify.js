#!/usr/bin/env node
/**
 * bench/audit-verify: how long verifyChain takes over a SQLite file of N `token.issue` records (the shape the token
 * endpoint writes): the whole chain, as `writ audit verify` walks it, and the last 1 % of it from a verified head, as
 * the server's self-check walks it. Backs the choice of an incremental self-check with its head kept in storage.
 *
 *   npm run build && node bench/audit-verify.js                # 100,000 records
 *   node bench/audit-verify.js --records=20000
 *
 * Progress goes to stderr; the last line of stdout is one JSON object with the figures.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStorage } from '../packages/server/dist/storage/open-storage.js'
import { verifyChain } from '../packages/server/dist/audit/verify-chain.js'

const arg = process.argv.find((a) => a.startsWith('--records='))
const RECORDS = arg ? Number(arg.slice('--records='.length)) : 100_000
const RUNS = 3
const NOW = Date.UTC(2026, 11, 1)
const log = (message) => process.stderr.write(`[bench:audit-verify] ${message}\n`)
const round = (x) => Math.round(x * 10) / 10
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function issueRecord() {
  const jti = randomUUID()
  return {
    type: 'token.issue', actor: { kind: 'agent', id: randomUUID() }, task: { id: 'T-1' }, action: 'tests.run', resource: 'repo:acme/billing',
    decision: { effect: 'allow', reasons: ['policy_permit:default'] }, token: { jti, exp: NOW / 1000 + 300 },
    data: { policies: ['default'], policy_context: { agent_version: 1, effect: 'allow', time_ms: NOW, source_ip: '127.0.0.1', audience: 'urn:writ:resource-server', policy_version: 1 }, aud: 'urn:writ:resource-server', kid: 'k'.repeat(43) },
  }
}

async function timed(work) {
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const result = await work()
  return { result, wallMs: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (() => { const c = process.cpuUsage(cpu0); return (c.user + c.system) / 1e3 })() }
}

const dir = mkdtempSync(join(tmpdir(), 'writ-bench-audit-verify-'))
try {
  const storage = await openStorage({ driver: 'sqlite', sqlitePath: join(dir, 'writ.db') })
  log(`appending ${RECORDS} records`)
  for (let done = 0; done < RECORDS; done += 1_000) {
    const events = Array.from({ length: Math.min(1_000, RECORDS - done) }, issueRecord)
    await storage.transaction((tx) => tx.audit.append(events, NOW + done))
  }
  const fromSeq = Math.floor(RECORDS * 0.99)
  const [from] = await storage.audit.page(fromSeq - 1, 1)
  const full = []
  const incremental = []
  for (let run = 0; run < RUNS; run++) {
    const f = await timed(() => verifyChain(storage.audit))
    if (!f.result.ok || f.result.count !== RECORDS) throw new Error(`unexpected report ${JSON.stringify(f.result)}`)
    full.push(f)
    const i = await timed(() => verifyChain(storage.audit, { from: { seq: from.seq, hash: from.hash } }))
    if (!i.result.ok) throw new Error(`unexpected report ${JSON.stringify(i.result)}`)
    incremental.push(i)
    log(`run ${run + 1}: full ${round(f.wallMs)} ms, last ${RECORDS - fromSeq} records ${round(i.wallMs)} ms`)
  }
  await storage.close()
  console.log(JSON.stringify({
    benchmark: 'audit-verify', records: RECORDS, runs: RUNS,
    full_wall_ms: round(median(full.map((r) => r.wallMs))), full_cpu_ms: round(median(full.map((r) => r.cpuMs))),
    full_us_per_record: round(median(full.map((r) => r.wallMs)) * 1_000 / RECORDS),
    incremental_records: RECORDS - fromSeq, incremental_wall_ms: round(median(incremental.map((r) => r.wallMs))),
    node: process.version,
  }))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
