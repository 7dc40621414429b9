import { describe, expect, test } from 'vitest'
import { policyToJson } from './cedar-wasm.js'
import { needsOf } from './attribute-needs.js'
import { pinnedResourceType } from './policy-index.js'
import { assertDecidesAsWholeSet, EVERY_OUTCOME } from './policy-sets.fixture.js'

describe('narrowing', () => {
  test('the narrowed decision equals the whole-set decision on random policy sets and requests', () => {
    // cedar-wasm on the candidate sets: the compiled evaluation has its own test (compiled-policy-set.test.ts).
    const { decisions, outcomes } = assertDecidesAsWholeSet({ fastPath: false })
    expect(decisions).toBeGreaterThanOrEqual(1_000)
    // The runs reach every kind of outcome, so the equality above is not vacuous.
    expect([...outcomes]).toEqual(expect.arrayContaining([...EVERY_OUTCOME]))
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
