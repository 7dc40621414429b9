import { describe, expect, test } from 'vitest'
import { accessTypeOf, checkBoundary, resourceTypeOf, type AccessType } from './permission-boundary.js'
import { agentFrom, documentWith, requestFor, sampleAgent } from './policy-test.fixture.js'

describe('accessTypeOf', () => {
  const table: [string, AccessType][] = [
    ['customer.read', 'read'], ['crm.records.get', 'read'], ['tickets.list', 'read'], ['dashboard.view', 'read'],
    ['logs.search', 'read'], ['metrics.query', 'read'], ['cluster.describe', 'read'], ['events.watch', 'read'],
    ['records.delete', 'delete'], ['table.drop', 'delete'], ['user.remove', 'delete'], ['vm.destroy', 'delete'],
    ['cache.purge', 'delete'], ['disk.erase', 'delete'],
    ['deploy.run', 'write'], ['ticket.update', 'write'], ['ssh.login', 'write'], ['sudo.exec', 'write'],
    ['read', 'read'], ['Customer.READ', 'read'], ['reader.start', 'write'], ['customer.readall', 'write'], ['customer.read.', 'write'],
  ]
  test.each(table)('%s needs %s', (action, expected) => {
    expect(accessTypeOf(action)).toBe(expected)
  })
})

describe('resourceTypeOf', () => {
  test.each([['service:billing', 'service'], ['repo:acme/billing', 'repo'], ['k8s:prod:api', 'k8s'], ['billing', 'billing'], [':x', '']])(
    '%s is of type %s', (resource, type) => expect(resourceTypeOf(resource)).toBe(type),
  )
})

describe('checkBoundary', () => {
  const agent = agentFrom(documentWith({
    capabilities: [
      { id: 'crm.read', description: '', risk_level: 'low' },
      { id: 'crm.update', description: '', risk_level: 'medium' },
      { id: 'crm.delete', description: '', risk_level: 'high' },
    ],
    data_access: [
      { resource: 'crm:*', access_type: 'delete', sensitivity: 'internal' },
      { resource: 'crm:vip-*', access_type: 'read', sensitivity: 'confidential' },
      { resource: 'crm:vip-board', access_type: 'read', sensitivity: 'restricted' },
      { resource: 'crm:public', access_type: 'read', sensitivity: 'public' },
      { resource: 'crm:public', access_type: 'read', sensitivity: 'internal' },
      { resource: 'wiki:a*b', access_type: 'read', sensitivity: 'public' },
      { resource: 'docs:v1.*', access_type: 'read', sensitivity: 'public' },
    ],
  }))

  const allowed: [string, string, string, AccessType, string, string][] = [
    ['an exact entry', 'crm.read', 'crm:vip-board', 'read', 'crm:vip-board', 'restricted'],
    ['the longer glob', 'crm.read', 'crm:vip-7', 'read', 'crm:vip-*', 'confidential'],
    ['a broader glob for access the specific entries lack, keeping their sensitivity', 'crm.delete', 'crm:vip-board', 'delete', 'crm:*', 'restricted'],
    ['the higher sensitivity of two equally specific entries', 'crm.read', 'crm:public', 'read', 'crm:public', 'internal'],
    ['a glob star that matches any characters, separators included', 'crm.update', 'crm:a/b:c', 'write', 'crm:*', 'internal'],
    ['a star in the middle of a pattern', 'crm.read', 'wiki:aXYZb', 'read', 'wiki:a*b', 'public'],
  ]
  test.each(allowed)('allows through %s', (_name, action, resource, accessType, entry, sensitivity) => {
    const result = checkBoundary(requestFor(agent, action, resource))
    expect(result).toMatchObject({ ok: true, accessType, dataAccess: { resource: entry }, sensitivity, capability: { id: action } })
  })

  const denied: [string, string, string, string][] = [
    ['an undeclared capability', 'crm.export', 'crm:x', 'capability_not_declared:crm.export'],
    ['a resource no pattern matches', 'crm.read', 'hr:payroll', 'resource_not_declared:hr:payroll'],
    ['a pattern only matched as a prefix', 'crm.read', 'wiki:aXb-tail', 'resource_not_declared:wiki:aXb-tail'],
    ['a resource where a pattern has a literal dot', 'crm.read', 'docs:v1x5', 'resource_not_declared:docs:v1x5'],
    ['more access than any matching entry', 'crm.update', 'wiki:ab', 'access_type_not_declared:write'],
  ]
  test.each(denied)('denies %s', (_name, action, resource, reason) => {
    expect(checkBoundary(requestFor(agent, action, resource))).toEqual({ ok: false, reasons: [reason] })
  })

  test('an inactive agent is denied before anything else', () => {
    expect(checkBoundary(requestFor({ ...agent, status: 'suspended' }, 'nope', 'nowhere'))).toEqual({ ok: false, reasons: ['agent_not_active:suspended'] })
  })

  test('a stated access type replaces the one inferred from the verb', () => {
    const bot = sampleAgent('deploy-bot')
    expect(checkBoundary(requestFor(bot, 'tests.run', 'repo:acme/billing'))).toEqual({ ok: false, reasons: ['access_type_not_declared:write'] })
    expect(checkBoundary(requestFor(bot, 'tests.run', 'repo:acme/billing', { accessType: 'read' }))).toMatchObject({ ok: true, accessType: 'read', sensitivity: 'internal' })
  })

  test('the compiled boundary follows a new document', () => {
    const first = agentFrom(documentWith({ capabilities: [{ id: 'a.run', description: '', risk_level: 'low' }], data_access: [{ resource: 'x:1', access_type: 'write', sensitivity: 'public' }] }))
    expect(checkBoundary(requestFor(first, 'a.run', 'x:1')).ok).toBe(true)
    const second = { ...first, document: documentWith({ capabilities: [], data_access: [] }) }
    expect(checkBoundary(requestFor(second, 'a.run', 'x:1'))).toEqual({ ok: false, reasons: ['capability_not_declared:a.run'] })
  })
})
