/** CedarPolicyEngine: the identity document's boundary, then operator policies in Cedar, then human oversight. Never throws. */
import { preparsePolicySet, statefulIsAuthorized } from './cedar-wasm.js'
import { WritError } from '@writ/sdk'
import { cedarSchemaText } from './cedar-schema.js'
import { cedarIp, fullCedarRequest, projectedCedarRequest, ZonedClock, type BoundaryFacts } from './cedar-request.js'
import { BOUNDARY_POLICY_ID, checkBoundary, resourceTypeOf, type DeclaredCapability } from './permission-boundary.js'
import type { AuthorizationRequest, Decision, PolicyEngine } from './policy-engine.js'
import type { PolicyAnswer } from './compiled-policy-set.js'
import { PolicyIndex, type IndexedPolicy } from './policy-index.js'
import { compilePolicyFiles, describeProblem, type PolicyProblem, type PolicySummary } from './validate-policies.js'

export { validatePolicyFiles, describeProblem, type PolicyProblem, type PolicySummary, type PolicyValidation } from './validate-policies.js'
export { BOUNDARY_POLICY_ID } from './permission-boundary.js'

/** The id a decision names when the identity document's `human_oversight.required_for` held it. */
export const OVERSIGHT_POLICY_ID = 'writ.oversight'

export interface CedarPolicyEngineOptions {
  /** File name → Cedar text. */
  files: Readonly<Record<string, string>>
  /** The capability ids of every registered agent: they complete the schema and tell which policy actions no agent has. */
  declaredActions: readonly string[]
  /** IANA time zone for `context.time`, e.g. `Europe/Paris` or `UTC`. */
  timeZone: string
  /** The policy set's version, reported by version() (recorded with each decision). */
  version?: number
  /** false: evaluate the whole set with every attribute on each request; the reference narrowing is tested against. */
  narrow?: boolean
  /** false: cedar-wasm evaluates every candidate set, none is decided by the compiled policies (for comparisons). */
  fastPath?: boolean
}

/** Where decisions went: candidate sets held, and decisions taken, in JavaScript or by cedar-wasm. */
export interface EvaluationCounts {
  sets: { compiled: number; cedar: number }
  /** `fallback`: decisions of compiled sets handed to cedar-wasm because a policy errored (counted in `cedar` too). */
  decisions: { compiled: number; cedar: number; fallback: number }
}

export class CedarPolicyEngine implements PolicyEngine {
  /** Validates and loads the whole set, or throws WritError POLICY_INVALID (one reason per problem) and loads nothing. */
  static create(options: CedarPolicyEngineOptions): CedarPolicyEngine {
    let clock: ZonedClock
    try {
      clock = new ZonedClock(options.timeZone)
    } catch (error) {
      throw new WritError('CONFIG_INVALID', `unknown time zone \`${options.timeZone}\``, { cause: error })
    }
    const { validation, policies } = compilePolicyFiles(options.files, options.declaredActions)
    if (!validation.ok) {
      const count = validation.errors.length
      throw new WritError('POLICY_INVALID', `the policy set has ${count} problem${count === 1 ? '' : 's'}`, {
        reasons: validation.errors.map(describeProblem),
      })
    }
    const index = new PolicyIndex(policies, options.narrow ?? true, options.fastPath ?? true)
    const actions = [...new Set([...options.declaredActions, ...policies.flatMap((policy) => (policy.actions === 'all' ? [] : policy.actions))])]
    return new CedarPolicyEngine(index, clock, validation.policies, validation.warnings, cedarSchemaText(actions), options.version ?? 0)
  }

  private readonly byId: Map<string, IndexedPolicy>
  private disposed = false
  private readonly decisions = { compiled: 0, cedar: 0, fallback: 0 }

  private constructor(
    private readonly index: PolicyIndex,
    private readonly clock: ZonedClock,
    /** What the set holds, for listings. */
    readonly policies: readonly PolicySummary[],
    /** Problems that do not stop the set from loading, such as actions no registered agent declares. */
    readonly warnings: readonly PolicyProblem[],
    /** The schema the set was validated against, for `writ policy schema`. */
    readonly schema: string,
    private readonly setVersion: number,
  ) {
    this.byId = new Map(index.policies.map((policy) => [policy.id, policy]))
  }

  version(): number {
    return this.setVersion
  }

  annotations(policyId: string): Readonly<Record<string, string>> | undefined {
    return this.byId.get(policyId)?.json.annotations as Readonly<Record<string, string>> | undefined
  }

  evaluationCounts(): EvaluationCounts {
    return { sets: this.index.setCounts(), decisions: { ...this.decisions } }
  }

  decide(request: AuthorizationRequest): Decision {
    try {
      return this.evaluate(request)
    } catch {
      // Fail closed: whatever went wrong, nothing is granted, and the reason says it was the engine, not a policy.
      return deny(['policy_engine_error'], [])
    }
  }

  /** Releases the preparsed sets (cedar-wasm keeps them until overwritten); afterwards every decision is a deny. */
  dispose(): void {
    this.disposed = true
    for (const setId of this.index.setIds()) preparsePolicySet(setId, { staticPolicies: {} })
  }

  private evaluate(request: AuthorizationRequest): Decision {
    // The boundary comes first and no policy can widen it: a permit cannot reach past what the document declares.
    const boundary = checkBoundary(request)
    if (!boundary.ok) return deny(boundary.reasons, [BOUNDARY_POLICY_ID])
    if (this.disposed) return deny(['policy_engine_error'], [])

    let sourceIp: string | undefined
    if (request.sourceIp !== undefined) {
      sourceIp = cedarIp(request.sourceIp)
      // A policy keyed on the address cannot be judged without it: refuse rather than evaluate as if it were absent.
      if (sourceIp === undefined) return deny(['source_ip_invalid'], [])
    }
    const time = this.clock.at(request.timeMs)
    const { agent } = request
    const set = this.index.candidates(request.action, {
      principal: agent.id,
      'principal.name': agent.name,
      'principal.owner': agent.document.owner,
      'principal.team': agent.document.team,
      'principal.platform': agent.document.platform,
      resource: request.resource,
      'resource.type': resourceTypeOf(request.resource),
      'resource.sensitivity': boundary.sensitivity,
      'context.access_type': boundary.accessType,
      'context.risk_level': boundary.capability.risk_level,
      'context.time.weekday': time.weekday,
    })
    if (set === undefined) return deny(['no_permit'], [])

    const facts: BoundaryFacts = { riskLevel: boundary.capability.risk_level, accessType: boundary.accessType, sensitivity: boundary.sensitivity }
    if (set.compiled !== undefined) {
      // The compiled policies read the full request: no projection, and no conversion into the wasm module.
      const answer = set.compiled.decide(fullCedarRequest(request, facts, time, sourceIp))
      if (answer !== undefined) {
        this.decisions.compiled++
        return this.outcome(request, boundary.capability, answer)
      }
      this.decisions.fallback++
    }
    this.decisions.cedar++
    const cedarRequest = this.index.narrow
      ? projectedCedarRequest(request, facts, time, sourceIp, set.needs)
      : fullCedarRequest(request, facts, time, sourceIp)
    const answer = statefulIsAuthorized({ ...cedarRequest, preparsedPolicySetId: this.index.preparsed(set) })
    if (answer.type === 'failure') return deny(['policy_engine_error'], [])
    return this.outcome(request, boundary.capability, answer.response)
  }

  private outcome(request: AuthorizationRequest, capability: DeclaredCapability, response: PolicyAnswer): Decision {
    const determining = this.inOrder(response.diagnostics.reason)
    // Cedar skips a policy whose evaluation errors; the decision stands as Cedar made it and the reasons say so.
    const errors = this.inOrder(response.diagnostics.errors.map((error) => error.policyId)).map((id) => `policy_error:${id}`)
    if (response.decision !== 'allow') {
      const reasons = determining.length === 0 ? ['no_permit'] : determining.map((id) => `policy_forbid:${id}`)
      return { effect: 'deny', reasons: [...reasons, ...errors], policies: determining }
    }

    const holds: string[] = []
    const policies = [...determining]
    const required = request.agent.document.human_oversight.required_for
    const matched = [...new Set(required.filter((entry) => entry === request.action || entry === capability.risk_level))]
    if (matched.length > 0) {
      holds.push(...matched.map((entry) => `oversight_required:${entry}`))
      policies.push(OVERSIGHT_POLICY_ID)
    }
    for (const id of determining) if (this.byId.get(id)?.hold === true) holds.push(`policy_hold:${id}`)
    if (holds.length > 0) return { effect: 'hold', reasons: [...holds, ...errors], policies }
    return { effect: 'allow', reasons: [...determining.map((id) => `policy_permit:${id}`), ...errors], policies: determining }
  }

  /** Distinct ids in the order of the set, so that reasons are stable from one decision to the next. */
  private inOrder(ids: readonly string[]): string[] {
    const order = (id: string): number => this.byId.get(id)?.order ?? Number.MAX_SAFE_INTEGER
    return [...new Set(ids)].sort((a, b) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0))
  }
}

function deny(reasons: string[], policies: string[]): Decision {
  return { effect: 'deny', reasons, policies }
}
