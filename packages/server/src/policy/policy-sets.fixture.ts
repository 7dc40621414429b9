/** Random policy sets, agents and requests for the property tests that compare an engine with the whole-set reference. */
import fc from 'fast-check'
import type { AuthorizationRequest } from './policy-engine.js'
import { expect } from 'vitest'
import type { CedarPolicyEngine } from './cedar-policy-engine.js'
import { agentFrom, documentWith, engineWith, TUESDAY_MORNING_UTC } from './policy-test.fixture.js'

const ACTIONS = ['a.read', 'b.write', 'c.delete', 'd.run'] as const
// `e.run` is declared by the agents but named by no policy: it exercises the bucket of unscoped policies.
export const REQUEST_ACTIONS = [...ACTIONS, 'e.run'] as const
const RESOURCES = ['svc:one', 'svc:two', 'host:web-1', 'crm:vip', 'plain'] as const
const TYPES = ['svc', 'host', 'crm', 'plain', 'nope'] as const

const action = fc.constantFrom(...ACTIONS).map((a) => `Writ::Action::"${a}"`)
const atom = fc.oneof(
  fc.constantFrom(...TYPES).map((t) => `resource.type == "${t}"`),
  fc.constantFrom('public', 'internal', 'confidential', 'restricted').map((s) => `resource.sensitivity == "${s}"`),
  fc.constantFrom('svc:*', '*:vip', 'plain').map((p) => `resource.id like "${p}"`),
  fc.constantFrom('*@a.com', 'ops@*').map((p) => `principal.owner like "${p}"`),
  fc.constantFrom('qa', 'sre').map((t) => `principal.team == "${t}"`),
  fc.constantFrom('custom', 'claude-code').map((p) => `principal.platform == "${p}"`),
  fc.constantFrom(...ACTIONS).map((a) => `principal.capabilities.contains("${a}")`),
  fc.constantFrom('low', 'high').map((r) => `principal.risk_levels.contains("${r}")`),
  fc.integer({ min: 0, max: 23 }).map((h) => `context.time.hour >= ${h}`),
  fc.constantFrom('monday', 'tuesday', 'saturday').map((d) => `context.time.weekday == "${d}"`),
  fc.constant('context.time == {hour: 10, minute: 30, weekday: "tuesday", date: "2025-06-10"}'),
  fc.constantFrom('10.0.0.0/8', '2001:db8::/32').map((r) => `context has source_ip && context.source_ip.isInRange(ip("${r}"))`),
  fc.constant('context has host && context.host == "web-1"'),
  fc.constant('(if context has host then context.host else "none") == "web-1"'),
  fc.constant('context.task has purpose && context.task.purpose like "*JIRA-*"'),
  fc.constant('context.task.id == "task-1"'),
  fc.constant('context has step_id'),
  fc.integer({ min: 0, max: 3 }).map((n) => `context.delegation_depth > ${n}`),
  fc.constantFrom('low', 'high').map((r) => `context.risk_level == "${r}"`),
  fc.constantFrom('read', 'write', 'delete').map((a) => `context.access_type == "${a}"`),
  fc.constant('context has human && context.human.groups.contains("sre")'),
  fc.constant('context has human && context.human == Writ::Human::"alice"'),
  fc.constant('context has target_host && context.target_host.labels.contains("env=staging")'),
  fc.constant('context has target_host && context.target_host.name == "web-1"'),
  // Errors at evaluation whenever the delegation depth is 1 or more (integer overflow).
  fc.constant('context.delegation_depth + 9223372036854775807 > 0'),
  // The same with literals that survive JSON (below 2^53), so pinned policies rewritten as JSON also raise errors.
  fc.constant('context.delegation_depth * 9007199254740991 * 2048 > 0'),
  action.map((a) => `action == ${a}`),
  fc.constant('{ a: context.time.minute }.a > 15'),
  fc.constant('Writ::Agent::"agt_test-agent".team == "qa"'),
  fc.constant('context == context'),
  fc.constant('["saturday", "sunday"].contains(context.time.weekday)'),
  fc.constantFrom('dev@a.com', 'ops@b.com').map((o) => `principal.owner == "${o}"`),
  fc.constant('principal.name == "test-agent"'),
  fc.constant('principal == Writ::Agent::"agt_test-agent"'),
  fc.constantFrom(...RESOURCES).map((r) => `resource == Writ::Resource::"${r}"`),
  fc.constant('true'),
  // Beyond the narrowing: the rest of what compile-policy.ts evaluates, each valid under the schema.
  fc.constant('principal.capabilities.containsAll(["a.read", "b.write"])'),
  fc.constant('principal.risk_levels.containsAny(["high", "critical"])'),
  fc.constant('principal.risk_levels == ["low", "medium"]'),
  fc.constant('principal.capabilities.isEmpty()'),
  fc.constant('principal in Writ::Agent::"agt_test-agent"'),
  fc.constant('principal is Writ::Agent'),
  fc.constant('resource is Writ::Resource in [Writ::Resource::"svc:one", Writ::Resource::"plain"]'),
  fc.constantFrom('isLoopback', 'isMulticast', 'isIpv4', 'isIpv6').map((m) => `context has source_ip && context.source_ip.${m}()`),
  fc.constantFrom('10.1.2.3', '::1', '10.1.2.3/32').map((a) => `context has source_ip && context.source_ip == ip("${a}")`),
  fc.constant('context has source_ip && ip("10.0.0.0/8").isInRange(context.source_ip)'),
  fc.constant('context.time.hour - context.time.minute < 0'),
  fc.constant('-context.delegation_depth < -1'),
  fc.constant('context.time != {hour: 10, minute: 30, weekday: "tuesday", date: "2025-06-10"}'),
  fc.constant('context has human && context.human in [Writ::Human::"alice", Writ::Human::"carol"]'),
  fc.constant('context has task.purpose && context.task.purpose like "fix*12*"'),
  fc.constant('context.time.weekday like "*day" && context.task.id like "task-\\*"'),
  fc.constant('context.task has purpose && context.task.purpose like "*😀 \\**"'),
  fc.constant('(if context.delegation_depth > 1 then context.risk_level == "high" else context.access_type != "read")'),
  fc.constant('context.time.minute * context.time.hour + context.delegation_depth >= 300'),
  // Errors at evaluation for a delegated request, inside a condition that short-circuits otherwise.
  fc.constant('context.delegation_depth == 0 || context.delegation_depth * 4611686018427387 * 4096 > 0'),
)
const body = fc.oneof(
  atom,
  fc.tuple(atom, atom).map(([a, b]) => `${a} && ${b}`),
  fc.tuple(atom, atom).map(([a, b]) => `(${a}) || (${b})`),
  fc.tuple(fc.constantFrom(...TYPES), atom).map(([t, a]) => `resource.type == "${t}" && ${a}`),
  // A type test after something that can fail: it must not pin the policy (the failure is observable).
  fc.tuple(atom, fc.constantFrom(...TYPES)).map(([a, t]) => `${a} && resource.type == "${t}"`),
  fc.constantFrom(...TYPES).map((t) => `context.delegation_depth + 9223372036854775807 > 0 && resource.type == "${t}"`),
)
const clause = fc.tuple(fc.constantFrom('when', 'unless'), body).map(([kind, b]) => `${kind} { ${b} }`)
const policy = fc.record({
  effect: fc.constantFrom('permit', 'forbid'),
  hold: fc.boolean(),
  action: fc.oneof(fc.constant('action'), action.map((a) => `action == ${a}`), fc.uniqueArray(action, { minLength: 1, maxLength: 3 }).map((as) => `action in [${as.join(', ')}]`)),
  resource: fc.oneof(
    fc.constant('resource'), fc.constantFrom(...RESOURCES).map((r) => `resource == Writ::Resource::"${r}"`), fc.constant('resource is Writ::Resource'),
    fc.constant('resource in Writ::Resource::"crm:vip"'), fc.constant('resource is Writ::Resource in Writ::Resource::"svc:two"'),
  ),
  principal: fc.constantFrom(
    'principal', 'principal == Writ::Agent::"agt_test-agent"', 'principal == Writ::Agent::"someone-else"',
    'principal in Writ::Agent::"agt_test-agent"', 'principal is Writ::Agent',
  ),
  clauses: fc.array(clause, { maxLength: 2 }),
}).map((p) => `${p.hold ? '@hold("needs a human") ' : ''}${p.effect}(${p.principal}, ${p.action}, ${p.resource}) ${p.clauses.join(' ')};`)

export const policySet = fc.array(fc.tuple(fc.constantFrom('a.cedar', 'b.cedar'), policy), { minLength: 0, maxLength: 10 }).map((entries) => {
  const files: Record<string, string> = {}
  for (const [file, text] of entries) files[file] = `${files[file] ?? ''}${text}\n`
  return files
})

export const agent = fc.record({
  owner: fc.constantFrom('dev@a.com', 'ops@b.com'),
  team: fc.constantFrom('qa', 'sre'),
  platform: fc.constantFrom('custom', 'claude-code'),
  risks: fc.array(fc.constantFrom('low', 'medium', 'high', 'critical'), { minLength: REQUEST_ACTIONS.length, maxLength: REQUEST_ACTIONS.length }),
  sensitivity: fc.constantFrom('public', 'internal', 'confidential', 'restricted'),
  requiredFor: fc.subarray(['b.write', 'high', 'critical']),
}).map((a) => agentFrom(documentWith({
  owner: a.owner, team: a.team, platform: a.platform,
  capabilities: REQUEST_ACTIONS.map((id, i) => ({ id, description: '', risk_level: a.risks[i] ?? 'low' })),
  data_access: [
    { resource: '*', access_type: 'delete', sensitivity: 'internal' },
    { resource: 'crm:vip', access_type: 'read', sensitivity: a.sensitivity },
  ],
  human_oversight: { required_for: a.requiredFor, approvers: [] },
})))

export const request = fc.record({
  action: fc.constantFrom(...REQUEST_ACTIONS),
  resource: fc.constantFrom(...RESOURCES),
  timeMs: fc.integer({ min: TUESDAY_MORNING_UTC - 3 * 86_400_000, max: TUESDAY_MORNING_UTC + 3 * 86_400_000 }),
  sourceIp: fc.option(fc.constantFrom('10.1.2.3', '192.168.1.1', '::ffff:10.9.9.9', '2001:db8::1', '127.0.0.1', '::1', '224.0.0.9', 'ff02::1'), { nil: undefined }),
  host: fc.option(fc.constantFrom('web-1', 'db-1'), { nil: undefined }),
  purpose: fc.option(fc.constantFrom('fix JIRA-123', 'plan a vacation', 'ship 😀 *now*', 'ship 😀 now'), { nil: undefined }),
  step: fc.option(fc.constant('step-2'), { nil: undefined }),
  human: fc.option(fc.record({ id: fc.constantFrom('alice', 'bob'), groups: fc.subarray(['sre', 'support']) }), { nil: undefined }),
  delegationDepth: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  targetHost: fc.option(fc.record({ name: fc.constantFrom('web-1', 'db-1'), labels: fc.subarray(['env=staging', 'env=prod', 'role=web']) }), { nil: undefined }),
})

export type GeneratedRequest = typeof request extends fc.Arbitrary<infer T> ? T : never

export function toRequest(a: ReturnType<typeof agentFrom>, r: GeneratedRequest): AuthorizationRequest {
  const task: AuthorizationRequest['task'] = { id: 'task-1' }
  if (r.purpose !== undefined) task.purpose = r.purpose
  if (r.step !== undefined) task.step = r.step
  const request: AuthorizationRequest = { agent: a, action: r.action, resource: r.resource, task, timeMs: r.timeMs }
  if (r.sourceIp !== undefined) request.sourceIp = r.sourceIp
  if (r.host !== undefined) request.host = r.host
  if (r.human !== undefined) request.human = { id: r.human.id, groups: [...r.human.groups] }
  if (r.delegationDepth !== undefined) request.delegationDepth = r.delegationDepth
  if (r.targetHost !== undefined) request.targetHost = { name: r.targetHost.name, labels: [...r.targetHost.labels] }
  return request
}


/** Every kind of outcome a run of the property should reach, so that an equality over the runs is not vacuous. */
export const EVERY_OUTCOME = [
  'allow', 'deny', 'hold', 'no_permit', 'oversight_required:', 'policy_error:', 'policy_forbid:', 'policy_hold:', 'policy_permit:',
] as const

/**
 * The property both engines' tests state: on random policy sets and requests, `engine` (built from the same files)
 * decides exactly as the whole-set cedar-wasm reference. `afterRun` sees each engine before it is released.
 */
export function assertDecidesAsWholeSet(
  options: { fastPath: boolean }, afterRun: (engine: CedarPolicyEngine) => void = () => undefined,
): { decisions: number; outcomes: Set<string> } {
  let decisions = 0
  const outcomes = new Set<string>()
  fc.assert(
    fc.property(policySet, agent, fc.array(request, { minLength: 1, maxLength: 6 }), (files, a, requests) => {
      const declaredActions = [...REQUEST_ACTIONS]
      const engine = engineWith(files, { declaredActions, timeZone: 'Europe/Paris', fastPath: options.fastPath })
      const whole = engineWith(files, { declaredActions, timeZone: 'Europe/Paris', narrow: false })
      try {
        for (const r of requests) {
          const decided = toRequest(a, r)
          const decision = engine.decide(decided)
          expect(decision).toEqual(whole.decide(decided))
          decisions++
          outcomes.add(decision.effect)
          for (const reason of decision.reasons) outcomes.add(reason.slice(0, reason.indexOf(':') + 1) || reason)
        }
        afterRun(engine)
      } finally {
        engine.dispose()
        whole.dispose()
      }
    }),
    { numRuns: 1_000 },
  )
  return { decisions, outcomes }
}
