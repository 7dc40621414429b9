#!/usr/bin/env node
/**
 * bench/policy: decision latency of CedarPolicyEngine with 10, 100 and 1,000 policies over a realistic entity set
 * (200 actions over 20 services, 12 resource types, 20 agents, mixed permit/forbid/@hold with conditions on context
 * and resource attributes; see policySet below), and in the same run the baseline it improves on: cedar-wasm's
 * statefulIsAuthorized over the WHOLE set, preparsed once, with the full entities and context, for the same requests
 * (the call alone, nothing around it).
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

// ---- a deterministic world --------------------------------------------------------------------------------------
let seed = 0x5eed
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}
const pick = (list) => list[Math.floor(random() * list.length)]
const int = (min, max) => min + Math.floor(random() * (max - min + 1))

const SERVICES = ['billing', 'crm', 'tickets', 'deploy', 'hosts', 'repo', 'db', 'bucket', 'mail', 'search', 'ledger', 'hr', 'ads', 'cdn',
  'queue', 'metrics', 'secrets', 'dns', 'cache', 'wiki']
const VERBS = ['read', 'list', 'get', 'search', 'write', 'update', 'create', 'run', 'restart', 'delete']
const ACTIONS = SERVICES.flatMap((service) => VERBS.map((verb) => `${service}.${verb}`)) // 200
const TYPES = ['service', 'host', 'repo', 'crm', 'tickets', 'db', 'bucket', 'mailbox', 'dns', 'queue', 'wiki', 'ledger']
const SENSITIVITIES = ['public', 'internal', 'confidential', 'restricted']
const RISKS = ['low', 'medium', 'high', 'critical']
const TEAMS = ['platform', 'sre', 'support', 'data', 'finance']
const PLATFORMS = ['claude-code', 'custom', 'copilot_studio', 'langgraph']
const AGENTS = 20

const agents = Array.from({ length: AGENTS }, (_, i) => {
  const capabilities = [...new Set(Array.from({ length: int(20, 40) }, () => pick(ACTIONS)))]
    .map((id) => ({ id, description: '', risk_level: pick(RISKS) }))
  const data_access = TYPES.flatMap((type) => [
    { resource: `${type}:*`, access_type: pick(['read', 'write', 'delete']), sensitivity: pick(SENSITIVITIES) },
    { resource: `${type}:prod-${i}`, access_type: 'delete', sensitivity: pick(SENSITIVITIES) },
  ])
  const document = {
    name: `agent-${i}`, owner: `owner${i}@example.com`, team: pick(TEAMS), platform: pick(PLATFORMS), description: '',
    capabilities, data_access, tools: [], human_oversight: { required_for: i % 4 === 0 ? ['critical'] : [], approvers: [] }, jwks: { keys: [] },
  }
  return { id: `agt_${i}`, name: document.name, status: 'active', version: 1, document, created_at: '', updated_at: '' }
})

/**
 * A set of `size` policies shaped like an operator's: a few organisation-wide guards, then mostly rules about one action
 * (or a few), some about one resource type or one agent; conditions on time, purpose, sensitivity, address, team, depth.
 */
function policySet(size) {
  const conditions = [
    () => `context.time.hour >= ${int(6, 9)} && context.time.hour < ${int(17, 20)}`,
    () => `!(["saturday", "sunday"].contains(context.time.weekday))`,
    () => `resource.sensitivity != "${pick(SENSITIVITIES)}"`,
    () => `context.task has purpose && context.task.purpose like "*JIRA-*"`,
    () => `context.delegation_depth <= ${int(0, 2)}`,
    () => `context has source_ip && context.source_ip.isInRange(ip("10.${int(0, 255)}.0.0/16"))`,
    () => `context.access_type == "${pick(['read', 'write', 'delete'])}"`,
    () => `resource.id like "*prod*"`,
    () => `principal.risk_levels.contains("${pick(RISKS)}")`,
    () => `principal.platform != "${pick(PLATFORMS)}"`,
  ]
  const when = () => Array.from({ length: int(1, 3) }, () => pick(conditions)()).join(' && ')
  const lines = [
    '@id("org-offboarded") forbid(principal, action, resource) when { ["gone1@example.com", "gone2@example.com"].contains(principal.owner) };',
    '@id("org-depth") forbid(principal, action, resource) when { context.delegation_depth > 2 };',
    '@id("org-restricted-ticket") forbid(principal, action, resource) when { resource.sensitivity == "restricted" && !(context.task has purpose && context.task.purpose like "*JIRA-*") };',
    '@id("org-default") permit(principal, action, resource) when { context.access_type == "read" };',
  ]
  for (let n = lines.length; n < size; n++) {
    const r = random()
    if (r < 0.70) {
      const hold = random() < 0.05 ? '@hold("needs a human") ' : ''
      const team = random() < 1 / 3 ? `principal.team == "${pick(TEAMS)}" && ` : ''
      lines.push(`${hold}@id("p-${n}") permit(principal, action == Writ::Action::"${pick(ACTIONS)}", resource) when { ${team}${when()} };`)
    } else if (r < 0.80) {
      lines.push(`@id("f-${n}") forbid(principal, action == Writ::Action::"${pick(ACTIONS)}", resource) unless { ${when()} };`)
    } else if (r < 0.90) {
      const actions = [...new Set([pick(ACTIONS), pick(ACTIONS), pick(ACTIONS)])].map((a) => `Writ::Action::"${a}"`)
      lines.push(`@id("l-${n}") permit(principal, action in [${actions.join(', ')}], resource) when { ${when()} };`)
    } else if (r < 0.95) {
      lines.push(`@id("t-${n}") forbid(principal, action, resource) when { resource.type == "${pick(TYPES)}" && ${when()} };`)
    } else {
      lines.push(`@id("a-${n}") permit(principal == Writ::Agent::"agt_${int(0, AGENTS - 1)}", action, resource) when { ${when()} };`)
    }
  }
  const files = {}
  for (let i = 0; i < size; i += 50) files[`set-${i / 50}.cedar`] = lines.slice(i, i + 50).join('\n')
  return files
}

function requests(count) {
  const list = []
  while (list.length < count) {
    const agent = pick(agents)
    const capability = pick(agent.document.capabilities)
    const type = pick(TYPES)
    const resource = random() < 0.3 ? `${type}:prod-${agent.id.slice(4)}` : `${type}:${pick(['alpha', 'beta', 'gamma', 'prod-eu'])}`
    const request = {
      agent, action: capability.id, resource,
      task: { id: `task-${int(1, 1000)}`, ...(random() < 0.6 ? { purpose: random() < 0.5 ? 'fix JIRA-123 in billing' : 'weekly report' } : {}) },
      timeMs: Date.UTC(2025, 5, int(9, 15), int(0, 23), int(0, 59)),
      sourceIp: `10.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
      delegationDepth: int(0, 3),
      ...(random() < 0.3 ? { human: { id: `human-${int(1, 20)}`, groups: [pick(TEAMS)] } } : {}),
    }
    if (checkBoundary(request).ok) list.push(request)
  }
  return list
}

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
const requestList = requests(2_000)
const results = []
for (const size of SIZES) {
  const files = policySet(size)
  let t0 = performance.now()
  const engine = CedarPolicyEngine.create({ files, declaredActions, timeZone: TIME_ZONE })
  const loadMs = Math.round(performance.now() - t0)
  const effects = { allow: 0, deny: 0, hold: 0 }
  for (const request of requestList) effects[engine.decide(request).effect]++
  const narrowed = measure(requestList, (request) => engine.decide(request))

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
    `whole-set cedar p50 ${raw.p50} µs p99 ${raw.p99} µs; decisions ${JSON.stringify(effects)}`)
  results.push({
    policies: size, load_ms: loadMs, p50_us: narrowed.p50, p99_us: narrowed.p99, mean_us: narrowed.mean, ops_per_s: narrowed.opsPerS,
    raw_whole_set_p50_us: raw.p50, raw_whole_set_p99_us: raw.p99, raw_whole_set_ops_per_s: raw.opsPerS, decisions: effects,
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
