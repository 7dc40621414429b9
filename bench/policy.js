#!/usr/bin/env node
/**
 * bench/policy: decision latency of CedarPolicyEngine with 10, 100 and 1,000 policies over a realistic entity set
 * (200 actions over 20 services, 12 resource types, 20 agents, mixed permit/forbid/@hold with conditions on context
 * and resource attributes; see policy-world.js), and in the same run what it is compared with: the same engine with
 * the compiled fast path off (cedar-wasm on the narrowed candidate sets), and the baseline it improves on, cedar-wasm's
 * statefulIsAuthorized over the WHOLE set, preparsed once, with the full entities and context, for the same requests
 * (the call alone, nothing around it). `paths` counts the candidate sets and decisions the engine took in JavaScript
 * and through cedar-wasm.
 *
 *   npm run bench:policy                 # tsc -b && node bench/policy.js
 *   node bench/policy.js --quick         # smoke run: fewer decisions
 *   node bench/policy.js --decisions=50000 --sizes=10,100,1000
 *
 * Progress goes to stderr; the last line of stdout is one JSON object with the figures.
 */
import { cpus } from 'node:os'
import { preparsePolicySet, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs'
import { CedarPolicyEngine } from '../packages/server/dist/policy/cedar-policy-engine.js'
import { cedarIp, fullCedarRequest, ZonedClock } from '../packages/server/dist/policy/cedar-request.js'
import { checkBoundary } from '../packages/server/dist/policy/permission-boundary.js'

const args = new Map(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, '').split('=')
  return [k, v ?? 'true']
}))
const quick = args.has('quick') || process.env.BENCH_QUICK === '1'
const DECISIONS = Number(args.get('decisions') ?? (quick ? 4_000 : 40_000))
const SIZES = (args.get('sizes') ?? '10,100,1000').split(',').map(Number)
const TIME_ZONE = 'Europe/Paris'
const TARGET_P99_US_AT_1000 = 100
const log = (message) => process.stderr.write(`[bench:policy] ${message}\n`)

import { agents, policySet, requests } from './policy-world.js'

// ---- measuring ----------------------------------------------------------------------------------------------------
function measure(requestList, decideOne, decisions = DECISIONS) {
  // Warm-up: every request at least twice, which also prepares each candidate set the requests reach.
  for (let i = 0; i < Math.min(requestList.length * 2, decisions); i++) decideOne(requestList[i % requestList.length])
  const samples = new Float64Array(decisions)
  const started = process.hrtime.bigint()
  for (let i = 0; i < decisions; i++) {
    const t0 = process.hrtime.bigint()
    decideOne(requestList[i % requestList.length])
    samples[i] = Number(process.hrtime.bigint() - t0) / 1_000
  }
  const totalUs = Number(process.hrtime.bigint() - started) / 1_000
  samples.sort()
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]
  const round = (x) => Math.round(x * 10) / 10
  return { p50: round(at(0.5)), p99: round(at(0.99)), mean: round(samples.reduce((a, b) => a + b, 0) / samples.length), opsPerS: Math.round(decisions / (totalUs / 1e6)) }
}

const declaredActions = [...new Set(agents.flatMap((agent) => agent.document.capabilities.map((c) => c.id)))]
const requestList = requests(2_000, (request) => checkBoundary(request).ok)
const results = []
for (const size of SIZES) {
  const files = policySet(size)
  let t0 = performance.now()
  const engine = CedarPolicyEngine.create({ files, declaredActions, timeZone: TIME_ZONE })
  const loadMs = Math.round(performance.now() - t0)
  const wasmEngine = CedarPolicyEngine.create({ files, declaredActions, timeZone: TIME_ZONE, fastPath: false })
  const effects = { allow: 0, deny: 0, hold: 0 }
  for (const request of requestList) {
    const decision = engine.decide(request)
    if (JSON.stringify(decision) !== JSON.stringify(wasmEngine.decide(request))) throw new Error('the compiled and cedar-wasm decisions differ')
    effects[decision.effect]++
  }
  const narrowed = measure(requestList, (request) => engine.decide(request))
  const paths = engine.evaluationCounts()
  // Fewer samples for cedar-wasm: it is an order of magnitude slower.
  const wasmNarrowed = measure(requestList, (request) => wasmEngine.decide(request), Math.min(DECISIONS, 10_000))
  wasmEngine.dispose()

  // Baseline: the whole set preparsed once; full entities and context built outside the timed call.
  const wholeId = `bench-whole-${size}`
  const all = {}
  for (const [file, text] of Object.entries(files)) Object.assign(all, splitById(file, text))
  if (Object.keys(all).length !== engine.policies.length) throw new Error('baseline set differs from the engine set')
  const answer = preparsePolicySet(wholeId, { staticPolicies: all })
  if (answer.type !== 'success') throw new Error(`baseline set does not parse: ${JSON.stringify(answer.errors)}`)
  const clock = new ZonedClock(TIME_ZONE)
  const calls = requestList.map((request) => {
    const boundary = checkBoundary(request)
    const facts = { riskLevel: boundary.capability.risk_level, accessType: boundary.accessType, sensitivity: boundary.sensitivity }
    return { ...fullCedarRequest(request, facts, clock.at(request.timeMs), cedarIp(request.sourceIp)), preparsedPolicySetId: wholeId }
  })
  // Fewer samples for the baseline: at 1,000 policies each call takes milliseconds.
  const raw = measure(calls, (c) => {
    const result = statefulIsAuthorized(c)
    if (result.type !== 'success') throw new Error('baseline evaluation failed')
  }, Math.min(DECISIONS, 4_000))
  preparsePolicySet(wholeId, { staticPolicies: {} })
  engine.dispose()
  log(`${size} policies: load ${loadMs} ms; engine p50 ${narrowed.p50} µs p99 ${narrowed.p99} µs ${narrowed.opsPerS}/s; ` +
    `cedar-wasm narrowed p50 ${wasmNarrowed.p50} µs p99 ${wasmNarrowed.p99} µs; whole-set cedar p50 ${raw.p50} µs p99 ${raw.p99} µs; ` +
    `decisions ${JSON.stringify(effects)}; paths ${JSON.stringify(paths)}`)
  results.push({
    policies: size, load_ms: loadMs, p50_us: narrowed.p50, p99_us: narrowed.p99, mean_us: narrowed.mean, ops_per_s: narrowed.opsPerS,
    cedar_narrowed_p50_us: wasmNarrowed.p50, cedar_narrowed_p99_us: wasmNarrowed.p99, cedar_narrowed_ops_per_s: wasmNarrowed.opsPerS,
    raw_whole_set_p50_us: raw.p50, raw_whole_set_p99_us: raw.p99, raw_whole_set_ops_per_s: raw.opsPerS, decisions: effects, paths,
  })
}

/** The policies of one file keyed by the id the engine gives them (`@id`, else `<file>#<n>`), for the baseline set. */
function splitById(file, text) {
  const out = {}
  text.split('\n').filter((line) => line.trim() !== '').forEach((line, n) => {
    const id = /@id\("([^"]+)"\)/.exec(line)?.[1] ?? `${file}#${n}`
    out[id] = line
  })
  return out
}

console.log(JSON.stringify({
  benchmark: 'policy',
  results,
  target_p99_us_at_1000: TARGET_P99_US_AT_1000,
  met: results.find((r) => r.policies === 1000)?.p99_us <= TARGET_P99_US_AT_1000,
  decisions_per_size: DECISIONS,
  requests: requestList.length,
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cpus: cpus().length,
}))
