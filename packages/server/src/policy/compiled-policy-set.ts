/** A candidate set whose every policy compiled: decided in JavaScript, with cedar-wasm's answer shape. */
import type { CedarRequest } from './cedar-request.js'
import { envOf } from './cedar-value.js'
import type { PolicyCondition } from './compile-policy.js'

/** The part of cedar-wasm's Response the engine reads. */
export interface PolicyAnswer {
  decision: 'allow' | 'deny'
  diagnostics: { reason: string[]; errors: { policyId: string }[] }
}

export interface CompiledMember {
  id: string
  effect: 'permit' | 'forbid'
  satisfied: PolicyCondition
}

export class CompiledPolicySet {
  constructor(private readonly members: readonly CompiledMember[]) {}

  /**
   * Cedar's answer: deny naming the satisfied forbids if any, else allow naming the satisfied permits, else deny
   * naming none. Undefined when a policy errors or the request holds a value not held exactly here: cedar-wasm then
   * decides the request. Cedar would skip the erroring policy and report it in `diagnostics.errors`; handing the
   * request over keeps that report exact with no second error model here, and errors are rare in validated sets
   * (integer overflow is the one the validator cannot rule out for Writ's schema).
   */
  decide(request: CedarRequest): PolicyAnswer | undefined {
    const forbids: string[] = []
    const permits: string[] = []
    try {
      const env = envOf(request)
      for (const member of this.members) {
        if (member.satisfied(env)) (member.effect === 'forbid' ? forbids : permits).push(member.id)
      }
    } catch {
      // NeedsReference, or anything unexpected: cedar-wasm is the reference, so it decides instead of a guess here.
      return undefined
    }
    if (forbids.length > 0) return { decision: 'deny', diagnostics: { reason: forbids, errors: [] } }
    return { decision: permits.length > 0 ? 'allow' : 'deny', diagnostics: { reason: permits, errors: [] } }
  }
}
