import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import type { Decision } from './policy-engine.js'
import { agentFrom, documentWith, engineWith, EXAMPLE_POLICIES_DIR, requestFor, SATURDAY_MORNING_UTC, TUESDAY_MORNING_UTC } from './policy-test.fixture.js'
import { validatePolicyFiles } from './validate-policies.js'

const files = Object.fromEntries(readdirSync(EXAMPLE_POLICIES_DIR).filter((name) => name.endsWith('.cedar'))
  .map((name) => [name, readFileSync(new URL(name, EXAMPLE_POLICIES_DIR), 'utf8')]))

const document = (overrides: Parameters<typeof documentWith>[0] = {}) => documentWith({
  owner: 'dev@example.com', platform: 'claude-code',
  capabilities: [
    { id: 'deploy.run', description: '', risk_level: 'medium' },
    { id: 'customer.read', description: '', risk_level: 'medium' },
    { id: 'records.delete', description: '', risk_level: 'high' },
  ],
  data_access: [
    { resource: 'service:prod-billing', access_type: 'write', sensitivity: 'internal' },
    { resource: 'service:staging-billing', access_type: 'write', sensitivity: 'internal' },
    { resource: 'crm:customers', access_type: 'delete', sensitivity: 'restricted' },
    { resource: 'crm:leads', access_type: 'delete', sensitivity: 'confidential' },
    { resource: 'wiki:*', access_type: 'delete', sensitivity: 'internal' },
  ],
  ...overrides,
})
const agent = agentFrom(document())
const fridayEveningUtc = Date.UTC(2025, 5, 13, 17, 30)

describe('examples/policies', () => {
  test('ships the six documented examples', () => {
    expect(Object.keys(files).sort()).toEqual([
      'business-hours-deploys.cedar', 'confidential-delete-platforms.cedar', 'default.cedar', 'offboarded-owners.cedar', 'restricted-needs-ticket.cedar',
      'sre-staging-ssh.cedar',
    ])
  })

  test('validate together without errors or warnings', () => {
    const result = validatePolicyFiles(files, ['deploy.run', 'customer.read', 'records.delete', 'ssh.login'])
    expect(result.errors).toEqual([])
    expect(result.warnings).toEqual([])
  })

  test.each(Object.keys(files))('%s validates on its own', (name) => {
    expect(validatePolicyFiles({ [name]: files[name] ?? '' }, ['deploy.run', 'ssh.login']).ok).toBe(true)
  })

  const engine = engineWith(files, { declaredActions: ['deploy.run', 'customer.read', 'records.delete'], timeZone: 'UTC' })
  const table: [string, Parameters<typeof requestFor>, Decision['effect'], string][] = [
    ['default allows inside the boundary', [agent, 'deploy.run', 'service:staging-billing'], 'allow', 'policy_permit:default'],
    ['a production deploy on a tuesday morning', [agent, 'deploy.run', 'service:prod-billing', { timeMs: TUESDAY_MORNING_UTC }], 'allow', 'policy_permit:default'],
    ['a production deploy on a saturday', [agent, 'deploy.run', 'service:prod-billing', { timeMs: SATURDAY_MORNING_UTC }], 'deny', 'policy_forbid:business-hours-production-deploys'],
    ['a production deploy on a friday evening', [agent, 'deploy.run', 'service:prod-billing', { timeMs: fridayEveningUtc }], 'deny', 'policy_forbid:business-hours-production-deploys'],
    ['a staging deploy on a saturday', [agent, 'deploy.run', 'service:staging-billing', { timeMs: SATURDAY_MORNING_UTC }], 'allow', 'policy_permit:default'],
    ['restricted data without a purpose', [agent, 'customer.read', 'crm:customers'], 'deny', 'policy_forbid:restricted-needs-ticket'],
    ['restricted data for a vacation plan', [agent, 'customer.read', 'crm:customers', { task: { id: 't', purpose: 'plan a vacation' } }], 'deny', 'policy_forbid:restricted-needs-ticket'],
    ['restricted data for a Jira ticket', [agent, 'customer.read', 'crm:customers', { task: { id: 't', purpose: 'analyse churn for JIRA-123' } }], 'allow', 'policy_permit:default'],
    ['restricted data for an issue number', [agent, 'customer.read', 'crm:customers', { task: { id: 't', purpose: 'sales analysis, see #4711' } }], 'allow', 'policy_permit:default'],
    ['restricted data for a bare hash', [agent, 'customer.read', 'crm:customers', { task: { id: 't', purpose: 'post in #general' } }], 'deny', 'policy_forbid:restricted-needs-ticket'],
    ['confidential delete from an allowed platform', [agent, 'records.delete', 'crm:leads'], 'allow', 'policy_permit:default'],
    ['confidential delete from another platform', [agentFrom(document({ platform: 'copilot_studio' })), 'records.delete', 'crm:leads'], 'deny', 'policy_forbid:confidential-delete-platforms'],
    ['internal delete from another platform', [agentFrom(document({ platform: 'copilot_studio' })), 'records.delete', 'wiki:old-page'], 'allow', 'policy_permit:default'],
    ['confidential read from another platform', [agentFrom(document({ platform: 'copilot_studio' })), 'customer.read', 'crm:leads'], 'allow', 'policy_permit:default'],
    ['an agent of an off-boarded owner', [agentFrom(document({ owner: 'former.owner@example.com' })), 'deploy.run', 'service:staging-billing'], 'deny', 'policy_forbid:offboarded-owners'],
  ]
  test.each(table)('%s', (_name, args, effect, reason) => {
    const decision = engine.decide(requestFor(...args))
    expect(decision.effect).toBe(effect)
    expect(decision.reasons).toContain(reason)
  })

  test('agents of team sre may ssh.login to hosts labelled env=staging: allowed for a staging host, denied for prod', () => {
    const ssh = engineWith({ 'sre-staging-ssh.cedar': files['sre-staging-ssh.cedar'] ?? '' }, { declaredActions: ['ssh.login'], timeZone: 'UTC' })
    const sre = agentFrom(documentWith({
      team: 'sre', capabilities: [{ id: 'ssh.login', description: '', risk_level: 'medium' }],
      data_access: [{ resource: 'host:*', access_type: 'write', sensitivity: 'internal' }],
    }))
    const staging = { targetHost: { name: 'web-1', labels: ['env=staging', 'role=web'] } }
    const prod = { targetHost: { name: 'web-2', labels: ['env=prod', 'role=web'] } }
    expect(ssh.decide(requestFor(sre, 'ssh.login', 'host:web-1', staging))).toMatchObject({ effect: 'allow', policies: ['sre-staging-ssh'] })
    expect(ssh.decide(requestFor(sre, 'ssh.login', 'host:web-2', prod))).toMatchObject({ effect: 'deny', reasons: ['no_permit'] })
    // An unenrolled host has no Writ::Host: nothing to match.
    expect(ssh.decide(requestFor(sre, 'ssh.login', 'host:web-3')).effect).toBe('deny')
    const qa = agentFrom(documentWith({ team: 'qa', capabilities: [{ id: 'ssh.login', description: '', risk_level: 'medium' }], data_access: [{ resource: 'host:*', access_type: 'write', sensitivity: 'internal' }] }))
    expect(ssh.decide(requestFor(qa, 'ssh.login', 'host:web-1', staging)).effect).toBe('deny')
    // The same with the compiled engine off: cedar-wasm agrees.
    const wasm = engineWith({ 'sre-staging-ssh.cedar': files['sre-staging-ssh.cedar'] ?? '' }, { declaredActions: ['ssh.login'], timeZone: 'UTC', fastPath: false })
    expect(wasm.decide(requestFor(sre, 'ssh.login', 'host:web-1', staging)).effect).toBe('allow')
    expect(wasm.decide(requestFor(sre, 'ssh.login', 'host:web-2', prod)).effect).toBe('deny')
  })
})
