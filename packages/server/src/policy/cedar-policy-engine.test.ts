import { describe, expect, test } from 'vitest'
import { WritError } from '@writ/sdk'
import { CedarPolicyEngine } from './cedar-policy-engine.js'
import type { AuthorizationRequest, Decision } from './policy-engine.js'
import {
  agentFrom, documentWith, engineWith, requestFor, sampleAgent, SATURDAY_MORNING_UTC, TUESDAY_MORNING_UTC,
} from './policy-test.fixture.js'

const agent = agentFrom(documentWith({
  name: 'ctx-agent', owner: 'dev@acme.com', team: 'platform', platform: 'claude-code',
  capabilities: [
    { id: 'deploy.run', description: '', risk_level: 'high' },
    { id: 'customer.read', description: '', risk_level: 'medium' },
    { id: 'records.delete', description: '', risk_level: 'low' },
    { id: 'ticket.update', description: '', risk_level: 'low' },
  ],
  data_access: [
    { resource: 'service:billing', access_type: 'write', sensitivity: 'confidential' },
    { resource: 'service:prod-api', access_type: 'write', sensitivity: 'internal' },
    { resource: 'crm:customers', access_type: 'read', sensitivity: 'restricted' },
    { resource: 'crm:*', access_type: 'delete', sensitivity: 'confidential' },
    { resource: 'tickets:*', access_type: 'write', sensitivity: 'internal' },
  ],
}))

const deploy = (extra: Partial<AuthorizationRequest> = {}) => requestFor(agent, 'deploy.run', 'service:billing', extra)
const at = (utc: number) => ({ timeMs: utc })
const hourUtc = (hour: number, minute = 30) => Date.UTC(2025, 5, 10, hour, minute) // a Tuesday

type Row = [name: string, condition: string, request: AuthorizationRequest, effect: Decision['effect'], timeZone?: string]

// Each context attribute, once where the condition holds (allow) and once where it does not (deny by default).
const contexts: Row[] = [
  ['time.hour inside the hours in the zone', 'context.time.hour >= 9 && context.time.hour < 17', deploy(at(hourUtc(10))), 'allow', 'Europe/Paris'],
  ['time.hour past the hours in the zone', 'context.time.hour >= 9 && context.time.hour < 17', deploy(at(hourUtc(15, 30))), 'deny', 'Europe/Paris'],
  ['time.hour of the same instant in UTC', 'context.time.hour >= 9 && context.time.hour < 17', deploy(at(hourUtc(15, 30))), 'allow', 'UTC'],
  ['time.minute', 'context.time.minute == 30', deploy(at(hourUtc(10, 30))), 'allow'],
  ['time.minute differs', 'context.time.minute == 30', deploy(at(hourUtc(10, 31))), 'deny'],
  ['time.weekday is lowercase English', 'context.time.weekday == "saturday"', deploy(at(SATURDAY_MORNING_UTC)), 'allow'],
  ['time.weekday on a tuesday', 'context.time.weekday == "saturday"', deploy(at(TUESDAY_MORNING_UTC)), 'deny'],
  ['time.weekday is taken in the zone', 'context.time.weekday == "saturday"', deploy(at(Date.UTC(2025, 5, 13, 23, 30))), 'allow', 'Europe/Paris'],
  ['time.weekday of the same instant in UTC', 'context.time.weekday == "saturday"', deploy(at(Date.UTC(2025, 5, 13, 23, 30))), 'deny', 'UTC'],
  ['time.date', 'context.time.date == "2025-06-10"', deploy(at(TUESDAY_MORNING_UTC)), 'allow'],
  ['time.date of another day', 'context.time.date == "2025-06-10"', deploy(at(SATURDAY_MORNING_UTC)), 'deny'],
  ['source_ip in range', 'context has source_ip && context.source_ip.isInRange(ip("10.0.0.0/8"))', deploy({ sourceIp: '10.1.2.3' }), 'allow'],
  ['source_ip out of range', 'context has source_ip && context.source_ip.isInRange(ip("10.0.0.0/8"))', deploy({ sourceIp: '192.168.1.1' }), 'deny'],
  ['source_ip absent', 'context has source_ip && context.source_ip.isInRange(ip("10.0.0.0/8"))', deploy(), 'deny'],
  ['source_ip as an IPv4-mapped IPv6 address', 'context has source_ip && context.source_ip.isInRange(ip("10.0.0.0/8"))', deploy({ sourceIp: '::ffff:10.1.2.3' }), 'allow'],
  ['source_ip IPv6', 'context has source_ip && context.source_ip.isInRange(ip("2001:db8::/32"))', deploy({ sourceIp: '2001:db8::7' }), 'allow'],
  ['host', 'context has host && context.host == "web-1"', deploy({ host: 'web-1' }), 'allow'],
  ['host differs', 'context has host && context.host == "web-1"', deploy({ host: 'db-1' }), 'deny'],
  ['host absent', 'context has host && context.host == "web-1"', deploy(), 'deny'],
  ['task.id', 'context.task.id == "task-42"', deploy({ task: { id: 'task-42' } }), 'allow'],
  ['task.id differs', 'context.task.id == "task-42"', deploy({ task: { id: 'task-7' } }), 'deny'],
  ['task.purpose names a ticket', 'context.task has purpose && context.task.purpose like "*JIRA-*"', deploy({ task: { id: 't', purpose: 'fix JIRA-123' } }), 'allow'],
  ['task.purpose names none', 'context.task has purpose && context.task.purpose like "*JIRA-*"', deploy({ task: { id: 't', purpose: 'plan a vacation' } }), 'deny'],
  ['task.purpose absent', 'context.task has purpose && context.task.purpose like "*JIRA-*"', deploy(), 'deny'],
  ['step_id', 'context has step_id && context.step_id == "step-3"', deploy({ task: { id: 't', step: 'step-3' } }), 'allow'],
  ['step_id absent', 'context has step_id && context.step_id == "step-3"', deploy(), 'deny'],
  ['delegation_depth within the limit', 'context.delegation_depth <= 1', deploy({ delegationDepth: 1 }), 'allow'],
  ['delegation_depth is 0 when not delegated', 'context.delegation_depth <= 1', deploy(), 'allow'],
  ['delegation_depth past the limit', 'context.delegation_depth <= 1', deploy({ delegationDepth: 2 }), 'deny'],
  ['risk_level of the capability', 'context.risk_level == "high"', deploy(), 'allow'],
  ['risk_level of another capability', 'context.risk_level == "high"', requestFor(agent, 'customer.read', 'crm:customers'), 'deny'],
  ['access_type read from the verb', 'context.access_type == "read"', requestFor(agent, 'customer.read', 'crm:customers'), 'allow'],
  ['access_type write from the verb', 'context.access_type == "read"', requestFor(agent, 'ticket.update', 'tickets:1'), 'deny'],
  ['access_type delete from the verb', 'context.access_type == "delete"', requestFor(agent, 'records.delete', 'crm:leads'), 'allow'],
  ['access_type stated by the request', 'context.access_type == "read"', requestFor(agent, 'ticket.update', 'tickets:1', { accessType: 'read' }), 'allow'],
  ['resource.type', 'resource.type == "service"', deploy(), 'allow'],
  ['resource.type differs', 'resource.type == "service"', requestFor(agent, 'ticket.update', 'tickets:1'), 'deny'],
  ['resource.id', 'resource.id like "*prod*"', requestFor(agent, 'deploy.run', 'service:prod-api'), 'allow'],
  ['resource.id differs', 'resource.id like "*prod*"', deploy(), 'deny'],
  ['resource.sensitivity from the exact entry', 'resource.sensitivity == "restricted"', requestFor(agent, 'customer.read', 'crm:customers'), 'allow'],
  ['resource.sensitivity from a glob entry', 'resource.sensitivity == "confidential"', requestFor(agent, 'customer.read', 'crm:leads'), 'allow'],
  ['resource.sensitivity differs', 'resource.sensitivity == "restricted"', deploy(), 'deny'],
  ['principal.owner', 'principal.owner == "dev@acme.com"', deploy(), 'allow'],
  ['principal.owner differs', 'principal.owner == "someone@acme.com"', deploy(), 'deny'],
  ['principal.team', 'principal.team == "platform"', deploy(), 'allow'],
  ['principal.team differs', 'principal.team == "support"', deploy(), 'deny'],
  ['principal.platform', 'principal.platform == "claude-code"', deploy(), 'allow'],
  ['principal.platform differs', 'principal.platform == "custom"', deploy(), 'deny'],
  ['principal.name', 'principal.name == "ctx-agent"', deploy(), 'allow'],
  ['principal.status', 'principal.status == "active"', deploy(), 'allow'],
  ['principal.capabilities', 'principal.capabilities.contains("records.delete")', deploy(), 'allow'],
  ['principal.capabilities lacks one', 'principal.capabilities.contains("sudo.exec")', deploy(), 'deny'],
  ['principal.risk_levels', 'principal.risk_levels.contains("high")', deploy(), 'allow'],
  ['principal.risk_levels lacks one', 'principal.risk_levels.contains("critical")', deploy(), 'deny'],
  ['human.groups', 'context has human && context.human.groups.contains("sre")', deploy({ human: { id: 'alice', groups: ['sre'] }, delegationDepth: 1 }), 'allow'],
  ['human.groups lacks one', 'context has human && context.human.groups.contains("sre")', deploy({ human: { id: 'bob', groups: ['support'] }, delegationDepth: 1 }), 'deny'],
  ['human absent', 'context has human && context.human.groups.contains("sre")', deploy(), 'deny'],
  ['human by id', 'context has human && context.human == Writ::Human::"alice"', deploy({ human: { id: 'alice', groups: [] }, delegationDepth: 1 }), 'allow'],
]

describe('context attributes', () => {
  test.each(contexts)('%s', (_name, condition, request, effect, timeZone) => {
    const engine = engineWith({ 'rule.cedar': `@id("rule") permit(principal, action, resource) when { ${condition} };` }, { timeZone: timeZone ?? 'UTC' })
    const decision = engine.decide(request)
    expect(decision).toEqual(effect === 'allow'
      ? { effect: 'allow', reasons: ['policy_permit:rule'], policies: ['rule'] }
      : { effect: 'deny', reasons: ['no_permit'], policies: [] })
  })
})

describe('the permission boundary', () => {
  const permitAll = engineWith({ 'all.cedar': '@id("all") permit(principal, action, resource);' })
  const table: [string, AuthorizationRequest, string][] = [
    ['an undeclared action', requestFor(agent, 'sudo.exec', 'service:billing'), 'capability_not_declared:sudo.exec'],
    ['an undeclared resource', requestFor(agent, 'deploy.run', 'service:payroll'), 'resource_not_declared:service:payroll'],
    ['an unknown resource type', requestFor(agent, 'deploy.run', 'spaceship:1'), 'resource_not_declared:spaceship:1'],
    ['more access than declared', requestFor(agent, 'records.delete', 'service:billing'), 'access_type_not_declared:delete'],
    ['a stated access beyond the declaration', requestFor(agent, 'ticket.update', 'tickets:1', { accessType: 'delete' }), 'access_type_not_declared:delete'],
    ['a suspended agent', requestFor({ ...agent, status: 'suspended' }, 'deploy.run', 'service:billing'), 'agent_not_active:suspended'],
    ['a retired agent', requestFor({ ...agent, status: 'retired' }, 'deploy.run', 'service:billing'), 'agent_not_active:retired'],
  ]
  test.each(table)('permit(principal, action, resource) cannot widen it: %s is denied', (_name, request, reason) => {
    expect(permitAll.decide(request)).toEqual({ effect: 'deny', reasons: [reason], policies: ['writ.boundary'] })
  })

  test('inside the boundary the same permit allows', () => {
    expect(permitAll.decide(deploy())).toEqual({ effect: 'allow', reasons: ['policy_permit:all'], policies: ['all'] })
  })
})

describe('decisions', () => {
  test('deny is the default with an empty policy set', () => {
    expect(engineWith({}).decide(deploy())).toEqual({ effect: 'deny', reasons: ['no_permit'], policies: [] })
  })

  test('forbid wins over permit and names the forbidding policies', () => {
    const engine = engineWith({
      'a.cedar': '@id("all") permit(principal, action, resource);',
      'b.cedar': '@id("no-services") forbid(principal, action, resource) when { resource.type == "service" };\n'
        + '@id("no-high") forbid(principal, action, resource) when { context.risk_level == "high" };',
    })
    expect(engine.decide(deploy())).toEqual({ effect: 'deny', reasons: ['policy_forbid:no-services', 'policy_forbid:no-high'], policies: ['no-services', 'no-high'] })
    expect(engine.decide(requestFor(agent, 'ticket.update', 'tickets:1')).effect).toBe('allow')
  })

  test('an allow names every permit that decided it, in set order', () => {
    const engine = engineWith({ 'a.cedar': 'permit(principal, action, resource);\npermit(principal, action == Writ::Action::"deploy.run", resource);' })
    expect(engine.decide(deploy())).toEqual({ effect: 'allow', reasons: ['policy_permit:a.cedar#0', 'policy_permit:a.cedar#1'], policies: ['a.cedar#0', 'a.cedar#1'] })
  })

  test('an action no policy names is judged by the unscoped policies only', () => {
    const scoped = engineWith({ 'a.cedar': 'permit(principal, action == Writ::Action::"deploy.run", resource);' })
    expect(scoped.decide(requestFor(agent, 'ticket.update', 'tickets:1'))).toEqual({ effect: 'deny', reasons: ['no_permit'], policies: [] })
    const unscoped = engineWith({ 'a.cedar': 'permit(principal, action, resource);' }, { declaredActions: [] })
    expect(unscoped.decide(requestFor(agent, 'ticket.update', 'tickets:1')).effect).toBe('allow')
  })

  test('a policy that errors at evaluation is skipped and the outcome stays deny', () => {
    const engine = engineWith({ 'a.cedar': '@id("overflows") permit(principal, action, resource) when { context.delegation_depth + 9223372036854775807 > 0 };' })
    expect(engine.decide(deploy({ delegationDepth: 1 }))).toEqual({ effect: 'deny', reasons: ['no_permit', 'policy_error:overflows'], policies: [] })
    expect(engine.decide(deploy()).effect).toBe('allow')
  })

  test('an erroring forbid is skipped too, and the error is reported beside the allow', () => {
    const engine = engineWith({
      'a.cedar': '@id("all") permit(principal, action, resource);\n'
        + '@id("overflows") forbid(principal, action, resource) when { context.delegation_depth * 9007199254740991 * 2048 > 0 };',
    })
    expect(engine.decide(deploy({ delegationDepth: 1 }))).toEqual({ effect: 'allow', reasons: ['policy_permit:all', 'policy_error:overflows'], policies: ['all'] })
  })
})

describe('hold', () => {
  const permitAll = engineWith({ 'all.cedar': '@id("all") permit(principal, action, resource);' })

  test('human_oversight.required_for naming the action holds the request', () => {
    const bot = sampleAgent('deploy-bot')
    expect(permitAll.decide(requestFor(bot, 'deploy.run', 'service:billing'))).toEqual({
      effect: 'hold', reasons: ['oversight_required:deploy.run'], policies: ['all', 'writ.oversight'],
    })
  })

  test('human_oversight.required_for naming the risk level holds the request', () => {
    const sre = sampleAgent('sre-responder')
    expect(permitAll.decide(requestFor(sre, 'sudo.exec', 'host:web-3'))).toEqual({
      effect: 'hold', reasons: ['oversight_required:critical'], policies: ['all', 'writ.oversight'],
    })
    expect(permitAll.decide(requestFor(sre, 'ssh.login', 'host:web-3')).effect).toBe('allow')
  })

  test('a determining permit annotated @hold holds the request', () => {
    const engine = engineWith({ 'a.cedar': '@id("prod-deploys") @hold("production deploys need a release manager") permit(principal, action == Writ::Action::"deploy.run", resource);' })
    expect(engine.decide(deploy())).toEqual({ effect: 'hold', reasons: ['policy_hold:prod-deploys'], policies: ['prod-deploys'] })
  })

  test('a @hold permit that does not decide holds nothing', () => {
    const engine = engineWith({ 'a.cedar': '@hold permit(principal, action, resource) when { context.time.hour == 3 };\n@id("all") permit(principal, action, resource);' })
    expect(engine.decide(deploy())).toEqual({ effect: 'allow', reasons: ['policy_permit:all'], policies: ['all'] })
  })

  test('forbid wins over hold', () => {
    const engine = engineWith({ 'a.cedar': '@hold permit(principal, action, resource);\n@id("never") forbid(principal, action, resource);' })
    expect(engine.decide(requestFor(sampleAgent('deploy-bot'), 'deploy.run', 'service:billing'))).toEqual({ effect: 'deny', reasons: ['policy_forbid:never'], policies: ['never'] })
  })

  test('no permit means deny even where the document asks for oversight', () => {
    expect(engineWith({}).decide(requestFor(sampleAgent('deploy-bot'), 'deploy.run', 'service:billing')).effect).toBe('deny')
  })
})

describe('the sample identity documents', () => {
  const engine = engineWith({ 'default.cedar': '@id("default") permit(principal, action, resource);' })
  const table: [string, AuthorizationRequest, Decision['effect'], string][] = [
    ['support reads customer records', requestFor(sampleAgent('support-assistant'), 'customer.read', 'crm:customers'), 'allow', 'policy_permit:default'],
    ['support updates a ticket through the tickets:* glob', requestFor(sampleAgent('support-assistant'), 'ticket.update', 'tickets:4711'), 'allow', 'policy_permit:default'],
    ['support cannot write customer records', requestFor(sampleAgent('support-assistant'), 'ticket.update', 'crm:customers'), 'deny', 'access_type_not_declared:write'],
    ['sre logs in to a web host', requestFor(sampleAgent('sre-responder'), 'ssh.login', 'host:web-12'), 'allow', 'policy_permit:default'],
    ['sre cannot reach a database host', requestFor(sampleAgent('sre-responder'), 'ssh.login', 'host:db-1'), 'deny', 'resource_not_declared:host:db-1'],
    ['deploy-bot runs tests, a write by its verb, on a read-only repo', requestFor(sampleAgent('deploy-bot'), 'tests.run', 'repo:acme/billing'), 'deny', 'access_type_not_declared:write'],
    ['deploy-bot runs tests when the request states read access', requestFor(sampleAgent('deploy-bot'), 'tests.run', 'repo:acme/billing', { accessType: 'read' }), 'allow', 'policy_permit:default'],
    ['deploy-bot deploys, held for a release manager', requestFor(sampleAgent('deploy-bot'), 'deploy.run', 'service:billing'), 'hold', 'oversight_required:deploy.run'],
  ]
  test.each(table)('%s', (_name, request, effect, reason) => {
    const decision = engine.decide(request)
    expect(decision.effect).toBe(effect)
    expect(decision.reasons).toContain(reason)
  })
})

describe('bad input never throws', () => {
  const engine = engineWith({ 'a.cedar': 'permit(principal, action, resource) when { context has source_ip };' })
  const table: [string, AuthorizationRequest, string][] = [
    ['a time that is not a number', deploy({ timeMs: Number.NaN }), 'policy_engine_error'],
    ['a source address that is not an IP', deploy({ sourceIp: 'not-an-ip' }), 'source_ip_invalid'],
    ['an IPv6 address embedding IPv4', deploy({ sourceIp: '::10.1.2.3' }), 'source_ip_invalid'],
    ['an agent without a document', { ...deploy(), agent: { ...agent, document: null as never } }, 'policy_engine_error'],
    ['a request that is not an object', null as never, 'policy_engine_error'],
  ]
  test.each(table)('%s is denied with a reason', (_name, request, reason) => {
    expect(engine.decide(request)).toEqual({ effect: 'deny', reasons: [reason], policies: [] })
  })

  test('a disposed engine denies everything inside the boundary', () => {
    const disposable = engineWith({ 'a.cedar': 'permit(principal, action, resource);' })
    expect(disposable.decide(deploy()).effect).toBe('allow')
    disposable.dispose()
    expect(disposable.decide(deploy())).toEqual({ effect: 'deny', reasons: ['policy_engine_error'], policies: [] })
  })
})

describe('CedarPolicyEngine.create', () => {
  test('an invalid set throws POLICY_INVALID naming the policy and where it is', () => {
    const error = captureError(() => engineWith({
      'good.cedar': 'permit(principal, action, resource);',
      'bad.cedar': '// first line\n@id("typo") permit(principal, action, resource) when { principal.ownr == "x" };',
    }))
    expect(error).toBeInstanceOf(WritError)
    expect(error.code).toBe('POLICY_INVALID')
    expect(error.reasons).toEqual([expect.stringMatching(/^`typo` \(bad\.cedar:2:\d+\): attribute `ownr` on entity type `Writ::Agent` not found/)])
  })

  test('an unknown time zone is a configuration error', () => {
    expect(captureError(() => engineWith({}, { timeZone: 'Mars/Olympus' })).code).toBe('CONFIG_INVALID')
  })

  test('the engine reports its version, policies, warnings and schema', () => {
    const engine = CedarPolicyEngine.create({
      files: { 'a.cedar': '@id("x") @hold permit(principal, action in [Writ::Action::"deploy.run", Writ::Action::"ghost.run"], resource);' },
      declaredActions: ['deploy.run', 'ticket.update'], timeZone: 'UTC', version: 7,
    })
    expect(engine.version()).toBe(7)
    expect(engine.policies).toEqual([{ id: 'x', file: 'a.cedar', effect: 'permit', actions: ['deploy.run', 'ghost.run'], hold: true }])
    expect(engine.warnings.map((w) => w.message)).toEqual(['action `ghost.run` is not declared by any registered agent'])
    expect(engine.schema).toContain('action "ghost.run" appliesTo')
    expect(engine.schema).toContain('action "ticket.update" appliesTo')
  })
})

function captureError(fn: () => unknown): WritError {
  try {
    fn()
  } catch (error) {
    return error as WritError
  }
  throw new Error('expected an error')
}
