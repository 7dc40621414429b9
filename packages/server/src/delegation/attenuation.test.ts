import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { WritAction } from '@writ/sdk'
import { globMatches, parametersCover, resourceCovers, uncovered } from './attenuation.js'

// A small alphabet so that random patterns and strings overlap often enough to exercise every branch.
const text = fc.string({ unit: fc.constantFrom('a', 'b', ':'), maxLength: 8 })
const glob = fc.string({ unit: fc.constantFrom('a', 'b', ':', '*'), maxLength: 6 })
const params = fc.option(fc.dictionary(fc.constantFrom('env', 'ref', 'job'), fc.constantFrom('prod', 'dev', 1, true)), { nil: undefined })
const entry = fc.record({
  action: fc.constantFrom('deploy.run', 'tests.run'), resource: glob, parameters: params,
  actions: fc.option(fc.constantFrom(['read'] as ['read'], ['write'] as ['write']), { nil: undefined }),
}).map((e): WritAction => ({ type: 'writ_action', action: e.action, resource: e.resource, ...(e.parameters ? { parameters: e.parameters } : {}), ...(e.actions ? { actions: e.actions } : {}) }))

/** A child derived from a parent by random narrowing and widening steps, so that many are covered and many are not. */
const childOf = (parent: WritAction) => fc.record({
  action: fc.oneof(fc.constant(parent.action), fc.constantFrom('deploy.run', 'tests.run')),
  resource: fc.oneof(
    fc.constant(parent.resource), glob,
    fc.array(fc.oneof(text, fc.constant('*'), text.map((t) => `${t}*${t}`)), { minLength: 8, maxLength: 8 }).map((fills) => {
      let i = 0
      return parent.resource.replace(/\*/g, () => fills[i++ % fills.length] as string)
    }),
  ),
  parameters: fc.oneof(fc.constant(parent.parameters), params, params.map((p) => ({ ...parent.parameters, ...p }))),
  actions: fc.oneof(fc.constant(parent.actions), fc.constantFrom(undefined, ['read'] as ['read'], ['write'] as ['write'])),
}).map((e): WritAction => ({ type: 'writ_action', action: e.action, resource: e.resource, ...(e.parameters ? { parameters: e.parameters } : {}), ...(e.actions ? { actions: e.actions } : {}) }))

/** Concrete strings a pattern stands for: its stars replaced by random text. */
const instanceOf = (pattern: string) => fc.array(text, { minLength: 8, maxLength: 8 }).map((fills) => {
  let i = 0
  return pattern.replace(/\*/g, () => fills[i++ % fills.length] as string)
})

describe('attenuation', () => {
  it('matches globs like a regular expression would, without one', () => {
    const cases: Array<[string, string, boolean]> = [
      ['service:*', 'service:billing', true], ['service:*', 'service:', true], ['service:*', 'servic', false],
      ['*', '', true], ['a*b*c', 'aXbYc', true], ['a*b*c', 'aXbY', false], ['*a', 'ba', true], ['**', 'x', true],
      ['repo:acme/*', 'repo:acme/billing', true], ['repo:acme/*', 'repo:other/billing', false], ['exact', 'exact', true],
    ]
    for (const [pattern, value, expected] of cases) expect(globMatches(pattern, value), `${pattern} ~ ${value}`).toBe(expected)
    // Many stars against a long near-miss: a backtracking regex takes exponential time here; this loop does not.
    expect(globMatches(`${'a*'.repeat(60)}b`, 'a'.repeat(250))).toBe(false)
  })

  it('agrees with the regular expression on random patterns', () => {
    fc.assert(fc.property(glob, text, (pattern, value) => {
      const regex = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's')
      expect(globMatches(pattern, value)).toBe(regex.test(value))
    }), { numRuns: 2_000 })
  })

  it('DEL-06: a covered resource glob never stands for a string its parent does not (10,000 random pairs)', () => {
    fc.assert(fc.property(glob, glob, fc.array(text, { minLength: 8, maxLength: 8 }), (parent, child, fills) => {
      fc.pre(resourceCovers(parent, child))
      let i = 0
      const concrete = child.replace(/\*/g, () => fills[i++] as string)
      expect(globMatches(parent, concrete)).toBe(true)
    }), { numRuns: 10_000 })
  })

  it('DEL-06: for random entries, whatever a covered child permits its parent permits too (10,000 runs)', () => {
    fc.assert(fc.property(entry.chain((p) => fc.tuple(fc.constant(p), childOf(p))), fc.array(text, { minLength: 8, maxLength: 8 }), params, ([parent, child], fills, extra) => {
      fc.pre(uncovered(parent, child) === undefined)
      let i = 0
      // Any concrete request the child allows: a resource it matches, parameters that keep its constraints.
      const request: WritAction = {
        type: 'writ_action', action: child.action, resource: child.resource.replace(/\*/g, () => fills[i++] as string),
        parameters: { ...extra, ...child.parameters }, ...(child.actions ? { actions: child.actions } : {}),
      }
      expect(uncovered(child, request)).toBeUndefined()
      expect(uncovered(parent, request)).toBeUndefined()
    }), { numRuns: 10_000 })
  })

  it('names what widened: action, resource, parameters, access type', () => {
    const parent: WritAction = { type: 'writ_action', action: 'deploy.run', resource: 'service:*', parameters: { env: 'prod' }, actions: ['write'] }
    expect(uncovered(parent, { ...parent, action: 'tests.run' })).toBe('action')
    expect(uncovered(parent, { ...parent, resource: '*' })).toBe('resource')
    expect(uncovered(parent, { ...parent, resource: 'db:*' })).toBe('resource')
    expect(uncovered(parent, { ...parent, parameters: {} })).toBe('parameters')
    expect(uncovered(parent, { ...parent, parameters: { env: 'dev' } })).toBe('parameters')
    expect(uncovered(parent, { ...parent, actions: ['delete'] })).toBe('access_type')
    expect(uncovered(parent, { ...parent, resource: 'service:billing', parameters: { env: 'prod', ref: 'v1' } })).toBeUndefined()
    expect(parametersCover(undefined, { anything: 1 })).toBe(true)
    expect(parametersCover({ env: 'prod' }, undefined)).toBe(false)
  })

  it('instances of a pattern are matched by it (the generator the chain test relies on)', () => {
    fc.assert(fc.property(glob.chain((p) => fc.tuple(fc.constant(p), instanceOf(p))), ([pattern, value]) => {
      expect(globMatches(pattern, value)).toBe(true)
    }), { numRuns: 1_000 })
  })
})
