#!/usr/bin/env node
/**
 * bench/exchange: grant → capability token exchanges (RFC 8693) per second over HTTP, with a delegation chain of
 * depth 2 (a human's mandate for agent A, narrowed by A for agent B; B exchanges it), beside client_credentials mints
 * by the same agent B, in the same run on the same server. The exchange verifies one more signature (the grant's),
 * reads the grant's row, and checks the chain's grants and agents in the issuing transaction.
 *
 *   npm run bench:exchange              # tsc -b && node bench/exchange.js
 *   node bench/exchange.js --quick      # smoke run: short phases
 *   node bench/exchange.js --concurrency=64 --rounds=5 --seconds=6 --cpu-prof
 *
 * One Writ server child process; this process is the load generator. Assertions are signed before each timed phase.
 * Rounds alternate mint, exchange, mint, exchange ... so that a shared host's drift hits both alike; the ratio is the
 * median over the rounds of exchange/mint within each round. Gate: ratio ≥ 0.7.
 * Progress goes to stderr; the last line of stdout is one JSON object with the figures.
 */
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { agentKey, AssertionSource } from './lib/assertions.js'
import { closedLoop, formPost } from './lib/load.js'
import { startWritServer } from './lib/writ-server.js'
import { killAll } from './lib/proc.js'
import { benchArgs, cpuProfileArgs, median, round2 } from './lib/options.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { args, quick, num } = benchArgs()
const options = {
  concurrency: num('concurrency', 64),
  rounds: num('rounds', quick ? 1 : 3),
  warmupSeconds: num('warmup', quick ? 1 : 3),
  seconds: num('seconds', quick ? 2 : 5),
}
const GATE = 0.7
const log = (message) => process.stderr.write(`[bench:exchange] ${message}\n`)
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const ACTION = { type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }
const hasAccessToken = (response) => response.body.includes('"access_token"')

// --cpu-prof writes the server's V8 CPU profile to bench/results/profiles/ (bench/profile-summary.js reads it).
const { server, dataDir, stop } = await startWritServer(root, { nodeArgs: cpuProfileArgs(root, args) })
process.on('exit', killAll)
try {
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
  const admin = async (path, body) => {
    const response = await fetch(`${server.admin_url}${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    })
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`)
    return response.json()
  }
  const register = async (name) => {
    const { privateKey, publicJwk } = agentKey(`${name}-key`)
    const agent = await admin('/v1/agents', {
      name, owner: 'bench@example.com', team: 'perf', platform: 'custom',
      capabilities: [{ id: 'tests.run', risk_level: 'low' }],
      data_access: [{ resource: 'repo:acme/billing', access_type: 'read', sensitivity: 'internal' }],
      jwks: { keys: [publicJwk] },
    })
    return { id: agent.id, source: new AssertionSource({ privateKey, kid: publicJwk.kid, clientId: agent.id, audience: server.issuer }) }
  }
  const a = await register('delegator-bot')
  const b = await register('delegate-bot')
  const post = async (fields) => {
    const response = await fetch(`${server.public_url}/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(),
    })
    const body = await response.json()
    if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`)
    return body
  }

  // The chain: alice → A (a mandate), A → B (a narrower grant, depth 2).
  const mandate = await admin('/v1/grants', {
    human: 'alice@example.com', agent: a.id, authorization_details: [{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/*' }], task: { id: 'T-1' },
  })
  const delegated = await post({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', client_id: a.id, client_assertion_type: ASSERTION_TYPE,
    client_assertion: a.source.next(), subject_token: mandate.grant, subject_token_type: 'urn:writ:params:oauth:token-type:grant',
    requested_token_type: 'urn:writ:params:oauth:token-type:grant', audience: b.id, authorization_details: JSON.stringify([ACTION]),
  })
  const grant = delegated.access_token
  const claims = JSON.parse(Buffer.from(grant.split('.')[1], 'base64url').toString())
  log(`chain: mandate ${mandate.jti} → grant ${claims.jti} for B (act ${JSON.stringify(claims.act)}, ${grant.length} bytes)`)

  const details = encodeURIComponent(JSON.stringify([ACTION]))
  const bodies = {
    mint: (assertion) => `grant_type=client_credentials&client_id=${b.id}&client_assertion_type=${encodeURIComponent(ASSERTION_TYPE)}`
      + `&client_assertion=${assertion}&authorization_details=${details}&task_id=T-1`,
    exchange: (assertion) => `grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:token-exchange')}&client_id=${b.id}`
      + `&client_assertion_type=${encodeURIComponent(ASSERTION_TYPE)}&client_assertion=${assertion}&subject_token=${grant}`
      + `&subject_token_type=${encodeURIComponent('urn:writ:params:oauth:token-type:grant')}`
      + `&requested_token_type=${encodeURIComponent('urn:ietf:params:oauth:token-type:access_token')}&authorization_details=${details}`,
  }
  // One of each by hand: the exchange must answer a capability whose sub is the human and act the chain.
  const check = await post(Object.fromEntries(new URLSearchParams(bodies.exchange(b.source.next()))))
  const issued = JSON.parse(Buffer.from(check.access_token.split('.')[1], 'base64url').toString())
  if (issued.sub !== 'alice@example.com' || issued.act?.act?.sub !== a.id) throw new Error(`unexpected exchanged token: ${JSON.stringify(issued)}`)
  await post(Object.fromEntries(new URLSearchParams(bodies.mint(b.source.next()))))

  const url = new URL(server.public_url)
  const phase = async (kind, seconds) => {
    b.source.clear()
    b.source.presign(Math.max(5_000, Math.ceil(8_000 * seconds)))
    return closedLoop({ url, concurrency: options.concurrency, seconds, check: hasAccessToken, makeRequest: () => formPost(url, '/oauth/token', bodies[kind](b.source.next())) })
  }
  log(`warm-up ${options.warmupSeconds} s each`)
  for (const kind of ['mint', 'exchange']) {
    const warm = await phase(kind, options.warmupSeconds)
    if (warm.errors > 0) throw new Error(`${kind} warm-up failed: ${JSON.stringify(warm)}`)
  }
  const rounds = []
  for (let r = 1; r <= options.rounds; r++) {
    const mint = await phase('mint', options.seconds)
    const exchange = await phase('exchange', options.seconds)
    log(`round ${r}: mint ${mint.per_s}/s (p99 ${mint.p99_ms} ms, errors ${mint.errors}), exchange ${exchange.per_s}/s (p99 ${exchange.p99_ms} ms, errors ${exchange.errors})`)
    if (mint.errors > 0 || exchange.errors > 0) throw new Error(`errors in round ${r}: ${JSON.stringify({ mint, exchange })}`)
    rounds.push({ mint, exchange, ratio: exchange.per_s / mint.per_s })
  }
  const ratio = round2(median(rounds.map((r) => r.ratio)))
  const result = {
    bench: 'exchange',
    chain_depth: 2,
    concurrency: options.concurrency,
    seconds: options.seconds,
    rounds: rounds.length,
    cpus: cpus().length,
    mint_per_s: median(rounds.map((r) => r.mint.per_s)),
    exchange_per_s: median(rounds.map((r) => r.exchange.per_s)),
    mint_p99_ms: median(rounds.map((r) => r.mint.p99_ms)),
    exchange_p99_ms: median(rounds.map((r) => r.exchange.p99_ms)),
    round_ratios: rounds.map((r) => round2(r.ratio)),
    ratio,
    gate: GATE,
    pass: ratio >= GATE,
  }
  log(`exchange/mint = ${ratio} (gate ≥ ${GATE}): ${result.pass ? 'pass' : 'FAIL'}`)
  process.stdout.write(`${JSON.stringify(result)}\n`)
} finally {
  await stop()
}
