import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { policyToJson } from './cedar-wasm.js'
import { needsOf } from './attribute-needs.js'
import { pinnedResourceType } from './policy-index.js'
import type { AuthorizationRequest } from './policy-engine.js'
import { agentFrom, documentWith, engineWith, TUESDAY_MORNING_UTC } from './policy-test.fixture.js'

const ACTIONS = ['a.read', 'b.write', 'c.delete', 'd.run'] as const
// `e.run` is declared by the agents but named by no policy: it exercises the bucket of unscoped policies.
const REQUEST_ACTIONS = [...ACTIONS, 'e.run'] as const
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
  resource: fc.oneof(fc.constant('resource'), fc.constantFrom(...RESOURCES).map((r) => `resource == Writ::Resource::"${r}"`), fc.constant('resource is Writ::Resource')),
  principal: fc.constantFrom('principal', 'principal == Writ::Agent::"agt_test-agent"', 'principal == Writ::Agent::"someone-else"'),
  clauses: fc.array(clause, { maxLength: 2 }),
}).map((p) => `${p.hold ? '@hold("needs a human") ' : ''}${p.effect}(${p.principal}, ${p.action}, ${p.resource}) ${p.clauses.join(' ')};`)

const policySet = fc.array(fc.tuple(fc.constantFrom('a.cedar', 'b.cedar'), policy), { minLength: 0, maxLength: 10 }).map((entries) => {
  const files: Record<string, string> = {}
  for (const [file, text] of entries) files[file] = `${files[file] ?? ''}${text}\n`
  return files
})

const agent = fc.record({
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

const request = fc.record({
  action: fc.constantFrom(...REQUEST_ACTIONS),
  resource: fc.constantFrom(...RESOURCES),
  timeMs: fc.integer({ min: TUESDAY_MORNING_UTC - 3 * 86_400_000, max: TUESDAY_MORNING_UTC + 3 * 86_400_000 }),
  sourceIp: fc.option(fc.constantFrom('10.1.2.3', '192.168.1.1', '::ffff:10.9.9.9', '2001:db8::1'), { nil: undefined }),
  host: fc.option(fc.constantFrom('web-1', 'db-1'), { nil: undefined }),
  purpose: fc.option(fc.constantFrom('fix JIRA-123', 'plan a vacation'), { nil: undefined }),
  step: fc.option(fc.constant('step-2'), { nil: undefined }),
  human: fc.option(fc.record({ id: fc.constantFrom('alice', 'bob'), groups: fc.subarray(['sre', 'support']) }), { nil: undefined }),
  delegationDepth: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
})

type GeneratedRequest = typeof request extends fc.Arbitrary<infer T> ? T : never

function toRequest(a: ReturnType<typeof agentFrom>, r: GeneratedRequest): AuthorizationRequest {
  const task: AuthorizationRequest['task'] = { id: 'task-1' }
  if (r.purpose !== undefined) task.purpose = r.purpose
  if (r.step !== undefined) task.step = r.step
  const request: AuthorizationRequest = { agent: a, action: r.action, resource: r.resource, task, timeMs: r.timeMs }
  if (r.sourceIp !== undefined) request.sourceIp = r.sourceIp
  if (r.host !== undefined) request.host = r.host
  if (r.human !== undefined) request.human = { id: r.human.id, groups: [...r.human.groups] }
  if (r.delegationDepth !== undefined) request.delegationDepth = r.delegationDepth
  return request
}

describe('narrowing', () => {
  test('the narrowed decision equals the whole-set decision on random policy sets and requests', () => {
    let decisions = 0
    const seen = new Set<string>()
    fc.assert(
      fc.property(policySet, agent, fc.array(request, { minLength: 1, maxLength: 6 }), (files, a, requests) => {
        const declaredActions = [...REQUEST_ACTIONS]
        const narrowed = engineWith(files, { declaredActions, timeZone: 'Europe/Paris' })
        const whole = engineWith(files, { declaredActions, timeZone: 'Europe/Paris', narrow: false })
        try {
          for (const r of requests) {
            const request = toRequest(a, r)
            const decision = narrowed.decide(request)
            expect(decision).toEqual(whole.decide(request))
            decisions++
            seen.add(decision.effect)
            for (const reason of decision.reasons) seen.add(reason.slice(0, reason.indexOf(':') + 1) || reason)
          }
        } finally {
          narrowed.dispose()
          whole.dispose()
        }
      }),
      { numRuns: 1_000 },
    )
    expect(decisions).toBeGreaterThanOrEqual(1_000)
    // The runs reach every kind of outcome, so the equality above is not vacuous.
    expect([...seen].sort()).toEqual(expect.arrayContaining([
      'allow', 'deny', 'hold', 'no_permit', 'oversight_required:', 'policy_error:', 'policy_forbid:', 'policy_hold:', 'policy_permit:',
    ]))
  }, 600_000)
})

describe('pinnedResourceType', () => {
  const table: [string, string | undefined][] = [
    ['permit(principal, action, resource == Writ::Resource::"service:billing");', 'service'],
    ['permit(principal, action, resource) when { resource.type == "host" };', 'host'],
    ['permit(principal, action, resource) when { "host" == resource.type && context.time.hour > 3 };', 'host'],
    ['permit(principal, action, resource) when { resource.type == "host" && context.time.hour > 3 && true };', 'host'],
    ['permit(principal, action, resource) when { context.time.hour > 3 && resource.type == "host" };', undefined],
    ['permit(principal, action, resource) unless { resource.type == "host" };', undefined],
    ['permit(principal, action, resource) when { resource.type == "host" || true };', undefined],
    ['permit(principal, action, resource) when { resource.type like "host" };', undefined],
    ['permit(principal, action, resource) when { principal.team == "sre" && resource.type == "host" };', 'host'],
    ['permit(principal, action, resource) when { ["host"].contains(resource.type) };', 'host'],
    ['permit(principal, action, resource) when { resource == Writ::Resource::"db:main" && context.time.hour > 3 };', 'db'],
    ['permit(principal, action, resource);', undefined],
  ]
  test.each(table)('%s pins %s', (text, expected) => {
    const parsed = policyToJson(text)
    if (parsed.type !== 'success') throw new Error('test policy does not parse')
    expect(pinnedResourceType(parsed.json)).toBe(expected)
  })
})

describe('needsOf', () => {
  const needs = (condition: string) => {
    const parsed = policyToJson(`permit(principal, action, resource) when { ${condition} };`)
    if (parsed.type !== 'success') throw new Error('test policy does not parse')
    const n = needsOf(parsed.json)
    const tree = (t: unknown): unknown => (t === true ? true : Object.fromEntries([...(t as Map<string, unknown>)].map(([k, v]) => [k, tree(v)])))
    return { principal: n.principal === true ? true : [...n.principal], resource: n.resource === true ? true : [...n.resource], context: tree(n.context) }
  }

  test('a policy needs only the attributes and context members it reads', () => {
    expect(needs('principal.owner like "*@a.com" && context.time.hour > 3 && context.task has purpose')).toEqual({
      principal: ['owner'], resource: [], context: { time: { hour: true }, task: { purpose: true } },
    })
  })

  test('reads through context.human keep the whole human', () => {
    expect(needs('context has human && context.human.groups.contains("sre")').context).toEqual({ human: true })
  })

  test('a bare context, or an attribute of a computed value, needs everything', () => {
    expect(needs('context == context')).toEqual({ principal: [], resource: [], context: true })
    expect(needs('{ a: context.time.minute }.a > 15')).toEqual({ principal: true, resource: true, context: true })
    expect(needs('Writ::Agent::"x".team == "qa"')).toEqual({ principal: true, resource: true, context: true })
  })
})
