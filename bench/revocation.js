#!/usr/bin/env node
/**
 * bench/revocation: how fast a revocation reaches 1,000 subscribed SDK verifiers, against a bare SSE baseline in the
 * same run on the same machine with the same client layout.
 *
 *   npm run bench:revocation            # tsc -b && node bench/revocation.js
 *   node bench/revocation.js --children=4 --per-child=250 --rounds=3
 *   node bench/revocation.js --replicas=2 [--database-url=postgres://postgres@127.0.0.1:5432/postgres]
 *   node bench/revocation.js --hono-baseline   # also a baseline served as Writ serves its stream (web streams, Hono)
 *
 * Writ phase: the server (its own process, as bench/mint starts it) with a registered agent and resource server;
 * `children` processes each hold `per-child` verifiers, each with its own subscription (one SSE connection) and
 * its own verifier. One capability token is minted; once every verifier accepts it, the admin API revokes it. Each
 * verifier, when its subscription applies the event, verifies the token again and stamps the moment it is refused
 * (performance.timeOrigin + performance.now(), comparable across processes of one machine). Reported from the
 * revoke call's return (the gate) and from its start. The event can reach a verifier before the admin's HTTP answer
 * reaches this process, so the first figure may be negative: negatives are reported as they are.
 * Baseline phase: a minimal node:http server (its own process) writes one event of the same size to the same number
 * of SSE connections held by the same layout of child processes, read the way the SDK reads (fetch +
 * eventsource-parser); measured from just before the write until each client has parsed it.
 * --replicas=2: two Writ servers on one fresh PostgreSQL database; the token is minted and revoked on the first, the
 * verifiers read the second's stream (LISTEN/NOTIFY fan-out), with API tokens from the second.
 * Each round runs the baseline, then Writ; a round's figures are percentiles over all connections; with several
 * rounds the reported figures are medians over rounds. Gate: Writ p99 (from the revoke returning) ≤ 3 × baseline p99.
 * Progress goes to stderr; the last line of stdout is one JSON object with the figures.
 */
import { fork } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { agentKey } from './lib/assertions.js'
import { startWritServer } from './lib/writ-server.js'
import { killAll } from './lib/proc.js'
import { benchArgs, median, round2 } from './lib/options.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { args, num } = benchArgs()
const options = {
  children: num('children', 4), perChild: num('per-child', 250), rounds: num('rounds', 1), replicas: num('replicas', 1),
  honoBaseline: args.has('hono-baseline'),
  applyOnly: args.has('apply-only'),
  databaseUrl: args.get('database-url') ?? process.env.WRIT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
}
if (options.replicas !== 1 && options.replicas !== 2) throw new Error('--replicas is 1 or 2')
const GATE = 3
const AUDIENCE = 'https://billing.bench.example'
const ACTION = { type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing' }
const EXPECTED = { action: ACTION.action, resource: ACTION.resource }
const log = (message) => process.stderr.write(`[bench:revocation] ${message}\n`)
const wallClock = () => performance.timeOrigin + performance.now()

function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
  return { p50: round2(rank(50)), p99: round2(rank(99)), max: round2(sorted.at(-1)), min: round2(sorted[0]), n: sorted.length }
}

const forked = new Set()
function child(file) {
  const proc = fork(join(root, 'bench', 'lib', file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  forked.add(proc)
  proc.once('exit', () => forked.delete(proc))
  return proc
}
function next(proc, predicate, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.off('message', on); reject(new Error('a child process did not answer in time')) }, timeoutMs)
    function on(message) {
      if (message.error) { clearTimeout(timer); proc.off('message', on); reject(new Error(message.error)); return }
      if (predicate(message)) { clearTimeout(timer); proc.off('message', on); resolve(message) }
    }
    proc.on('message', on)
  })
}
process.on('exit', () => { for (const proc of forked) proc.kill('SIGKILL'); killAll() })

async function baselineRound(serverFile = 'sse-baseline-server.js') {
  const server = child(serverFile)
  const { port } = await next(server, (m) => m.port !== undefined)
  const readers = Array.from({ length: options.children }, () => child('revocation-verifiers.js'))
  await Promise.all(readers.map((proc) => {
    const ready = next(proc, (m) => m.ready)
    proc.send({ cmd: 'baseline', count: options.perChild, url: `http://127.0.0.1:${port}/events` })
    return ready
  }))
  const done = readers.map((proc) => next(proc, (m) => m.done))
  server.send({ cmd: 'write' })
  const { written, connections } = await next(server, (m) => m.written !== undefined)
  const reads = (await Promise.all(done)).flatMap((m) => m.read)
  for (const proc of [server, ...readers]) proc.kill()
  if (connections !== options.children * options.perChild) throw new Error(`baseline held ${connections} connections`)
  return percentiles(reads.map((t) => t - written))
}

/** Replicas share a fresh PostgreSQL database, dropped at the end. */
async function replicaStorage() {
  const { default: pg } = await import('pg')
  const name = `writ_bench_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: options.databaseUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(options.databaseUrl)
  url.pathname = `/${name}`
  return {
    env: { WRIT_STORAGE__DRIVER: 'postgres', WRIT_STORAGE__URL: url.toString() },
    async drop() {
      const client = new pg.Client({ connectionString: options.databaseUrl })
      await client.connect()
      await client.query(`drop database if exists ${name} with (force)`)
      await client.end()
    },
  }
}

async function setUpWrit() {
  const storage = options.replicas === 2 ? await replicaStorage() : undefined
  const first = await startWritServer(root, { env: storage?.env ?? {} })
  // The second replica starts once the first has migrated the database.
  const second = storage === undefined ? undefined : await startWritServer(root, { env: storage.env })
  const { server, dataDir } = first
  const stop = async () => {
    await second?.stop()
    await first.stop()
    await storage?.drop()
  }
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
  const admin = async (method, path, body) => {
    const response = await fetch(`${server.admin_url}${path}`, {
      method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    })
    const text = await response.text()
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`)
    return JSON.parse(text)
  }
  const agent = agentKey('bench-agent-1')
  const agentId = (await admin('POST', '/v1/agents', {
    name: 'bench-bot', owner: 'bench@example.com', team: 'perf', platform: 'custom',
    capabilities: [{ id: ACTION.action, risk_level: 'low' }],
    data_access: [{ resource: ACTION.resource, access_type: 'write', sensitivity: 'internal' }],
    jwks: { keys: [agent.publicJwk] },
  })).id
  const rsKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })
  const { d: _d, ...rsPublic } = rsKey
  const resourceServer = await admin('POST', '/v1/resource-servers', {
    name: 'billing-api', audience: AUDIENCE, jwks: { keys: [{ ...rsPublic, kid: 'rs-1' }] },
  })
  const { CLIENT_ASSERTION_TYPE, signClientAssertion, ResourceServerClient } = await import('../packages/sdk/dist/index.js')
  const agentPrivate = { ...agent.privateKey.export({ format: 'jwk' }), kid: agent.publicJwk.kid }
  const mint = async () => {
    const response = await fetch(`${server.public_url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials', client_id: agentId, client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await signClientAssertion({ privateKey: agentPrivate, agentId, audience: server.issuer }),
        authorization_details: JSON.stringify([ACTION]), resource: AUDIENCE, task_id: 'T-bench',
      }),
    })
    const body = await response.json()
    if (response.status !== 200) throw new Error(`mint: ${response.status} ${JSON.stringify(body)}`)
    const jti = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString()).jti
    return { token: body.access_token, jti }
  }
  const revoke = (jti) => admin('POST', '/v1/revocations', { kind: 'token', jti, reason: 'bench:revocation' })
  const subscriber = {
    issuer: server.issuer, publicUrl: server.public_url, audience: AUDIENCE, clientId: resourceServer.id, privateJwk: { ...rsKey, kid: 'rs-1' },
    ...(second === undefined ? {} : { streamUrl: `${second.server.public_url}/revocations/events` }),
  }
  if (second !== undefined) {
    // The second replica accepts the new resource server after its registry refresh.
    const rs = new ResourceServerClient({ issuer: second.server.public_url, clientId: resourceServer.id, privateKey: subscriber.privateJwk })
    for (const deadline = Date.now() + 60_000; ;) {
      try {
        await rs.apiToken('writ:revocations', { refresh: true })
        break
      } catch (error) {
        if (Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    }
    log(`replicas: revoking on ${server.public_url}, verifiers on ${second.server.public_url}`)
  }
  return { server, stop, mint, revoke, subscriber }
}

async function writRound(writ) {
  const { token, jti } = await writ.mint()
  const holders = Array.from({ length: options.children }, () => child('revocation-verifiers.js'))
  const started = Date.now()
  const ready = await Promise.all(holders.map((proc) => {
    const answer = next(proc, (m) => m.ready)
    proc.send({ cmd: 'writ', count: options.perChild, token, expected: EXPECTED, applyOnly: options.applyOnly, ...writ.subscriber })
    return answer
  }))
  const connections = ready.reduce((n, m) => n + m.connections, 0)
  log(`writ: ${connections} verifiers subscribed and accepting the token in ${Date.now() - started} ms`)
  const done = holders.map((proc) => next(proc, (m) => m.done))
  const callStarted = wallClock()
  await writ.revoke(jti)
  const callReturned = wallClock()
  const results = await Promise.all(done)
  for (const proc of holders) proc.kill()
  const refused = results.flatMap((m) => m.refused)
  const applied = results.flatMap((m) => m.applied)
  const errors = results.flatMap((m) => m.errors)
  if (errors.length > 0) log(`writ: subscriber errors (first few): ${errors.join('; ')}`)
  return {
    connections,
    revoke_call_ms: round2(callReturned - callStarted),
    from_return: percentiles(refused.map((t) => t - callReturned)),
    from_start: percentiles(refused.map((t) => t - callStarted)),
    applied_from_return: percentiles(applied.map((t) => t - callReturned)),
  }
}

const load = loadavg()
log(`host: ${cpus().length} cores, load average ${load.map((x) => x.toFixed(2)).join(' ')}; ${options.children} × ${options.perChild} connections, ${options.rounds} round(s), ${options.replicas} replica(s)`)
const writ = await setUpWrit()
const rounds = []
try {
  for (let round = 0; round < options.rounds; round++) {
    const baseline = await baselineRound()
    log(`round ${round + 1}: baseline p50 ${baseline.p50} ms, p99 ${baseline.p99} ms, max ${baseline.max} ms`)
    const hono = options.honoBaseline ? await baselineRound('sse-hono-server.js') : undefined
    if (hono) log(`round ${round + 1}: hono baseline p50 ${hono.p50} ms, p99 ${hono.p99} ms, max ${hono.max} ms`)
    const result = await writRound(writ)
    log(`round ${round + 1}: writ (from the revoke returning) p50 ${result.from_return.p50} ms, p99 ${result.from_return.p99} ms, max ${result.from_return.max} ms; revoke call ${result.revoke_call_ms} ms`)
    rounds.push({ baseline, hono, writ: result, ratio_p99: result.from_return.p99 / baseline.p99 })
  }
} finally {
  await writ.stop()
}

const pick = (f) => round2(median(rounds.map(f)))
const ratio = Math.round(median(rounds.map((r) => r.ratio_p99)) * 1000) / 1000
const summary = {
  benchmark: 'revocation',
  verifiers: options.children * options.perChild,
  replicas: options.replicas,
  ...(options.applyOnly ? { apply_only: 'diagnostic: the Writ figures stop at the event applied; no verification follows it' } : {}),
  child_processes: options.children,
  rounds: options.rounds,
  writ_ms_from_revoke_return: { p50: pick((r) => r.writ.from_return.p50), p99: pick((r) => r.writ.from_return.p99), max: pick((r) => r.writ.from_return.max), min: pick((r) => r.writ.from_return.min) },
  writ_ms_from_revoke_start: { p50: pick((r) => r.writ.from_start.p50), p99: pick((r) => r.writ.from_start.p99), max: pick((r) => r.writ.from_start.max) },
  writ_ms_event_applied_from_return: { p50: pick((r) => r.writ.applied_from_return.p50), p99: pick((r) => r.writ.applied_from_return.p99), max: pick((r) => r.writ.applied_from_return.max) },
  revoke_call_ms: pick((r) => r.writ.revoke_call_ms),
  baseline_ms: { p50: pick((r) => r.baseline.p50), p99: pick((r) => r.baseline.p99), max: pick((r) => r.baseline.max) },
  ...(options.honoBaseline ? { hono_baseline_ms: { p50: pick((r) => r.hono.p50), p99: pick((r) => r.hono.p99), max: pick((r) => r.hono.max) } } : {}),
  ratio_p99: ratio,
  gate: `ratio_p99 <= ${GATE}`,
  gate_passed: ratio <= GATE,
  negatives: 'times from the revoke call returning can be negative (the event reached the verifier first); reported as measured',
  host: { cores: cpus().length, load_average_at_start: load.map(round2), load_average_at_end: loadavg().map(round2), node: process.version },
}
console.log(JSON.stringify(summary))
process.exit(0)
