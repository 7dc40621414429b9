/** The policies of one action scope, indexed by their first pin, and the pin check itself (policy-index.ts). */
import type { IndexedPolicy, PinFact, PinFacts } from './policy-index.js'

/** Policies of one action scope, indexed by the fact and values of their first pin (none: always a candidate). */
export interface Bucket {
  unpinned: readonly IndexedPolicy[]
  byFirstPin: ReadonlyMap<PinFact, ReadonlyMap<string, readonly IndexedPolicy[]>>
}

export function bucketOf(policies: readonly IndexedPolicy[]): Bucket {
  const unpinned: IndexedPolicy[] = []
  const byFirstPin = new Map<PinFact, Map<string, IndexedPolicy[]>>()
  for (const policy of policies) {
    const pin = policy.pins[0]
    if (pin === undefined) {
      unpinned.push(policy)
      continue
    }
    let byValue = byFirstPin.get(pin.fact)
    if (byValue === undefined) byFirstPin.set(pin.fact, (byValue = new Map()))
    // A request has one value per fact, so a policy listed under several values is still found at most once.
    for (const value of pin.values) {
      const listed = byValue.get(value)
      if (listed === undefined) byValue.set(value, [policy])
      else listed.push(policy)
    }
  }
  return { unpinned, byFirstPin }
}

export function applies(policy: IndexedPolicy, facts: Readonly<PinFacts>): boolean {
  for (const pin of policy.pins) if (!pin.values.has(facts[pin.fact])) return false
  return true
}
