import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { PolicyIndex } from './policy-index.js'
import { assertDecidesAsWholeSet, EVERY_OUTCOME } from './policy-sets.fixture.js'
import { EXAMPLE_POLICIES_DIR } from './policy-test.fixture.js'
import { compilePolicyFiles } from './validate-policies.js'

/** The ids of the policies that would go to cedar-wasm instead of being compiled. */
function notCompiled(files: Record<string, string>, declaredActions: string[]): string[] {
  const { validation, policies } = compilePolicyFiles(files, declaredActions)
  expect(validation.errors).toEqual([])
  return new PolicyIndex(policies).policies.filter((policy) => policy.condition === undefined).map((policy) => policy.id)
}

describe('compiled evaluation', () => {
  test('the compiled decision equals the whole-set cedar-wasm decision on random policy sets and requests', () => {
    const totals = { compiled: 0, cedar: 0, fallback: 0 }
    const { decisions, outcomes } = assertDecidesAsWholeSet({ fastPath: true }, (engine) => {
      const counts = engine.evaluationCounts().decisions
      totals.compiled += counts.compiled
      totals.cedar += counts.cedar
      totals.fallback += counts.fallback
    })
    expect(decisions).toBeGreaterThanOrEqual(1_000)
    // Not vacuous: every kind of outcome occurs, most decisions are compiled, and errors do reach the fallback.
    expect([...outcomes]).toEqual(expect.arrayContaining([...EVERY_OUTCOME]))
    expect(totals.compiled).toBeGreaterThan(totals.cedar)
    expect(totals.fallback).toBeGreaterThan(0)
  }, 600_000)
})

describe('the fast path is the one taken', () => {
  test('every example policy compiles', () => {
    const files = Object.fromEntries(readdirSync(EXAMPLE_POLICIES_DIR).filter((name) => name.endsWith('.cedar'))
      .map((name) => [name, readFileSync(new URL(name, EXAMPLE_POLICIES_DIR), 'utf8')]))
    expect(Object.keys(files).length).toBeGreaterThan(0)
    expect(notCompiled(files, ['deploy.run'])).toEqual([])
  })

  test('every policy of the bench/policy.js world compiles', async () => {
    const world = await import(new URL('../../../../bench/policy-world.js', import.meta.url).href) as {
      agents: { document: { capabilities: { id: string }[] } }[]
      policySet: (size: number) => Record<string, string>
    }
    const declaredActions = [...new Set(world.agents.flatMap((agent) => agent.document.capabilities.map((capability) => capability.id)))]
    expect(notCompiled(world.policySet(1_000), declaredActions)).toEqual([])
  }, 60_000)
})
