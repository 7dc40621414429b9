/**
 * Narrowing: for each request, the only policies that can apply, evaluated as their own set: in JavaScript when every
 * member compiled (compile-policy.ts), else by cedar-wasm, preparsed on first use.
 *
 * INVARIANT (the narrowing statement): evaluating the candidate set gives the same decision, determining policies and
 * erroring policies as evaluating the whole set. A policy is left out only when its scope (action, principal or
 * resource uid) or one of the *leading* conjuncts of its first `when` clause is false for the request, where a leading
 * conjunct is an equality (or set-literal membership) between a string literal and a request fact that is always
 * present (`resource.type`, `principal.team`, `context.access_type`, ...). Cedar evaluates the scope, then the
 * conditions left to right, and `&&` short-circuits; such conjuncts cannot raise an error, so a policy left out could
 * neither be satisfied nor report an error. Inside a candidate set every member's pins hold, so the set evaluates each
 * policy with its pinned conjuncts removed (`true && rest` is `rest`), and the request need not carry what only they
 * read. policy-index.test.ts checks the statement on random policy sets and requests (with cedar-wasm evaluating the
 * candidate sets), and compiled-policy-set.test.ts the same equality with the compiled evaluation.
 */
import type { Expr, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs'
import { preparsePolicySet } from './cedar-wasm.js'
import { ALL_NEEDS, emptyNeeds, mergeNeeds, needsOf, type Needs } from './attribute-needs.js'
import { compilePolicy, type PolicyCondition } from './compile-policy.js'
import { CompiledPolicySet } from './compiled-policy-set.js'
import { AGENT_TYPE, RESOURCE_TYPE } from './cedar-schema.js'
import { applies, bucketOf, type Bucket } from './policy-bucket.js'
import { resourceTypeOf } from './permission-boundary.js'
import type { CompiledPolicy } from './validate-policies.js'

/** Request facts known before Cedar runs, each always present, that a policy can be pinned to. */
export interface PinFacts {
  principal: string
  'principal.name': string
  'principal.owner': string
  'principal.team': string
  'principal.platform': string
  resource: string
  'resource.type': string
  'resource.sensitivity': string
  'context.access_type': string
  'context.risk_level': string
  'context.time.weekday': string
}
export type PinFact = keyof PinFacts

/** The policy applies only when the request's `fact` is one of `values`. */
export interface Pin {
  fact: PinFact
  values: ReadonlySet<string>
}

export interface IndexedPolicy extends CompiledPolicy {
  /** Position in the whole set. */
  order: number
  pins: readonly Pin[]
  /** The policy as candidate sets evaluate it: without its pinned conjuncts (or its text, when nothing was removed). */
  narrowed: PolicyJson | string
  /** What `narrowed` reads. */
  needs: Needs
  /** `narrowed` compiled to JavaScript; undefined when it uses what only cedar-wasm evaluates (compile-policy.ts). */
  condition: PolicyCondition | undefined
}

export interface CandidateSet {
  /** The JavaScript evaluation, when every member compiled; cedar-wasm evaluates the set otherwise. */
  compiled: CompiledPolicySet | undefined
  /** What the candidate policies can read; a request to cedar-wasm carries only that. */
  needs: Readonly<Needs>
  size: number
}

/** How a set is handed to cedar-wasm: preparsed on first use, since a compiled set may never need it. */
interface WasmSet {
  setId: string
  policies: Record<string, PolicyJson | string>
  preparsed: boolean
}

// Distinct candidate sets kept preparsed; beyond this the least recently used is released and rebuilt on demand.
// The count is bounded by the policies anyway (pins only compare with literals); this bounds memory as well.
const MAX_SETS = 4_096
let serial = 0

export class PolicyIndex {
  readonly policies: readonly IndexedPolicy[]
  private readonly prefix = `writ-policy-${++serial}`
  private readonly byAction = new Map<string, Bucket>()
  private readonly unscoped: Bucket
  private readonly sets = new Map<string, CandidateSet>()
  private readonly wasmSets = new WeakMap<CandidateSet, WasmSet>()
  private nextSet = 0
  private readonly whole: CandidateSet | undefined

  /**
   * `narrow: false` keeps one whole set evaluated by cedar-wasm with every attribute: the reference the narrowing and
   * the compiled evaluation are tested against. `fastPath: false` leaves every candidate set to cedar-wasm.
   */
  constructor(compiled: readonly CompiledPolicy[], readonly narrow = true, fastPath = true) {
    this.policies = compiled.map((policy, order) => {
      const { pins, narrowed } = narrowPolicy(policy.json)
      // JSON carries Longs as JS numbers: a literal past 2^53 would change, so such a policy keeps its text.
      const json = narrowed === policy.json || !hasOnlySafeNumbers(policy.json) ? undefined : narrowed
      // The JSON of an unchanged policy is the policy; one with unsafe numbers does not compile (compile-policy.ts).
      const condition = fastPath && narrow ? compilePolicy(json ?? policy.json) : undefined
      if (json === undefined) return { ...policy, order, pins, narrowed: policy.text, needs: needsOf(policy.json), condition }
      return { ...policy, order, pins, narrowed: json, needs: needsOf(json), condition }
    })
    this.unscoped = bucketOf(this.policies.filter((policy) => policy.actions === 'all'))
    const literals = new Set(this.policies.flatMap((policy) => (policy.actions === 'all' ? [] : policy.actions)))
    for (const action of literals) {
      this.byAction.set(action, bucketOf(this.policies.filter((policy) => policy.actions === 'all' || policy.actions.includes(action))))
    }
    this.whole = narrow ? undefined : this.prepare(this.policies, this.policies.map((policy) => policy.order).join(','), ALL_NEEDS, false)
  }

  /** The set to evaluate for this request; undefined when no policy can apply (deny by default). */
  candidates(action: string, facts: Readonly<PinFacts>): CandidateSet | undefined {
    if (!this.narrow) return this.whole
    const bucket = this.byAction.get(action) ?? this.unscoped
    const members: IndexedPolicy[] = []
    for (const policy of bucket.unpinned) members.push(policy)
    // Only the policies whose first pin holds are looked at; the rest of their pins are checked one by one.
    for (const [fact, byValue] of bucket.byFirstPin) {
      const listed = byValue.get(facts[fact])
      if (listed !== undefined) for (const policy of listed) if (applies(policy, facts)) members.push(policy)
    }
    if (members.length === 0) return undefined
    // In the order of the set, so that equal members make one signature and one cached set.
    members.sort((a, b) => a.order - b.order)
    let signature = ''
    for (const policy of members) signature += `${policy.order},`
    const cached = this.sets.get(signature)
    if (cached !== undefined) {
      this.sets.delete(signature)
      this.sets.set(signature, cached)
      return cached
    }
    return this.prepare(members, signature, members.reduce((needs, policy) => mergeNeeds(needs, policy.needs), emptyNeeds()), true)
  }

  /** The cedar-wasm id of `set`, preparsing it on first use. */
  preparsed(set: CandidateSet): string {
    const wasm = this.wasmSets.get(set)
    if (wasm === undefined) throw new TypeError('the candidate set belongs to another index')
    if (!wasm.preparsed) {
      const answer = preparsePolicySet(wasm.setId, { staticPolicies: wasm.policies })
      if (answer.type === 'failure') throw new Error(`cedar refused a validated policy set: ${answer.errors.map((e) => e.message).join('; ')}`)
      wasm.preparsed = true
    }
    return wasm.setId
  }

  /** Every preparsed set id, so that the owner can release them. */
  setIds(): string[] {
    const sets = this.whole === undefined ? [...this.sets.values()] : [this.whole]
    return sets.map((set) => this.wasmSets.get(set)).filter((wasm) => wasm?.preparsed === true).map((wasm) => wasm?.setId ?? '')
  }

  /** How many of the candidate sets now held are evaluated in JavaScript, and how many by cedar-wasm. */
  setCounts(): { compiled: number; cedar: number } {
    const sets = this.whole === undefined ? [...this.sets.values()] : [this.whole]
    const compiled = sets.filter((set) => set.compiled !== undefined).length
    return { compiled, cedar: sets.length - compiled }
  }

  private prepare(members: readonly IndexedPolicy[], signature: string, needs: Readonly<Needs>, narrowed: boolean): CandidateSet {
    const conditions = members.map((policy) => policy.condition)
    const compiled = narrowed && conditions.every((condition) => condition !== undefined)
      ? new CompiledPolicySet(members.map((policy, i) => ({ id: policy.id, effect: policy.effect, satisfied: conditions[i] as PolicyCondition })))
      : undefined
    const set: CandidateSet = { compiled, needs, size: members.length }
    const policies = Object.fromEntries(members.map((policy) => [policy.id, narrowed ? policy.narrowed : policy.text]))
    this.wasmSets.set(set, { setId: `${this.prefix}-${this.nextSet++}`, policies, preparsed: false })
    // The reference and sets cedar-wasm evaluates are preparsed now, so that a refusal shows at load or first use.
    if (compiled === undefined) this.preparsed(set)
    if (!narrowed) return set
    this.sets.set(signature, set)
    if (this.sets.size > MAX_SETS) {
      const [oldest, evicted] = this.sets.entries().next().value as [string, CandidateSet]
      this.sets.delete(oldest)
      const wasm = this.wasmSets.get(evicted)
      if (wasm?.preparsed === true) {
        preparsePolicySet(wasm.setId, { staticPolicies: {} })
        wasm.preparsed = false
      }
    }
    return set
  }
}

function hasOnlySafeNumbers(value: unknown): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value)
  if (typeof value !== 'object' || value === null) return true
  return Object.values(value).every(hasOnlySafeNumbers)
}


const PIN_PATHS: Readonly<Record<string, PinFact>> = {
  'principal.name': 'principal.name',
  'principal.owner': 'principal.owner',
  'principal.team': 'principal.team',
  'principal.platform': 'principal.platform',
  'resource.id': 'resource',
  'resource.type': 'resource.type',
  'resource.sensitivity': 'resource.sensitivity',
  'context.access_type': 'context.access_type',
  'context.risk_level': 'context.risk_level',
  'context.time.weekday': 'context.time.weekday',
}

/** The pins of a policy: its principal and resource scope, and the pinnable leading conjuncts of its first `when`. */
export function pinsOf(json: PolicyJson): Pin[] {
  return narrowPolicy(json).pins
}

/** The policy's pins, and the policy without the conjuncts they stand for. */
export function narrowPolicy(json: PolicyJson): { pins: Pin[]; narrowed: PolicyJson } {
  const pins: Pin[] = []
  const principal = scopeUid(json.principal)
  if (principal?.type === AGENT_TYPE) pins.push({ fact: 'principal', values: new Set([principal.id]) })
  const resource = scopeUid(json.resource)
  if (resource?.type === RESOURCE_TYPE) pins.push({ fact: 'resource', values: new Set([resource.id]) })
  const [first, ...others] = json.conditions
  if (first?.kind !== 'when') return { pins, narrowed: json }
  const before = pins.length
  const rest = conjuncts(first.body)
  // Only a prefix: past the first conjunct that might raise an error, a false pin would hide that error.
  while (rest[0] !== undefined) {
    const pin = pinOf(rest[0])
    if (pin === undefined) break
    pins.push(pin)
    rest.shift()
  }
  if (pins.length === before) return { pins, narrowed: json }
  const body = rest.reduce<Expr | undefined>((left, right) => (left === undefined ? right : { '&&': { left, right } }), undefined)
  return { pins, narrowed: { ...json, conditions: [{ kind: 'when', body: body ?? { Value: true } }, ...others] } }
}

/** Shorthand used by tests and docs: the resource type a policy is pinned to, if exactly one. */
export function pinnedResourceType(json: PolicyJson): string | undefined {
  for (const pin of pinsOf(json)) {
    if (pin.fact === 'resource' && pin.values.size === 1) return resourceTypeOf([...pin.values][0] ?? '')
    if (pin.fact === 'resource.type' && pin.values.size === 1) return [...pin.values][0]
  }
  return undefined
}

function scopeUid(scope: PolicyJson['principal'] | PolicyJson['resource']): { type: string; id: string } | undefined {
  if (scope.op !== '==' || !('entity' in scope)) return undefined
  return '__entity' in scope.entity ? scope.entity.__entity : scope.entity
}

/** `(a && b) && c` and `a && (b && c)` both evaluate a, b, c in that order, stopping at the first false. */
function conjuncts(expr: Expr): Expr[] {
  const and = (expr as { '&&'?: { left: Expr; right: Expr } })['&&']
  return and === undefined ? [expr] : [...conjuncts(and.left), ...conjuncts(and.right)]
}

function pinOf(expr: Expr): Pin | undefined {
  const equal = (expr as { '=='?: { left: Expr; right: Expr } })['==']
  if (equal !== undefined) return equalityPin(equal.left, equal.right) ?? equalityPin(equal.right, equal.left)
  const contains = (expr as { contains?: { left: Expr; right: Expr } }).contains
  if (contains !== undefined) {
    const fact = factOf(contains.right)
    const elements = (contains.left as { Set?: Expr[] }).Set
    if (fact === undefined || elements === undefined) return undefined
    const values = elements.map((element) => (element as { Value?: unknown }).Value)
    return values.every((value): value is string => typeof value === 'string') ? { fact, values: new Set(values) } : undefined
  }
  return undefined
}

function equalityPin(side: Expr, other: Expr): Pin | undefined {
  const variable = (side as { Var?: unknown }).Var
  const literal = (other as { Value?: unknown }).Value
  if (variable === 'principal' || variable === 'resource') {
    const uid = (literal as { __entity?: { type: string; id: string } } | undefined)?.__entity
    const type = variable === 'principal' ? AGENT_TYPE : RESOURCE_TYPE
    return uid?.type === type ? { fact: variable, values: new Set([uid.id]) } : undefined
  }
  const fact = factOf(side)
  return fact !== undefined && typeof literal === 'string' ? { fact, values: new Set([literal]) } : undefined
}

function factOf(expr: Expr): PinFact | undefined {
  const path: string[] = []
  let current = expr
  for (;;) {
    const dot = (current as { '.'?: { left: Expr; attr: string } })['.']
    if (dot === undefined) break
    path.unshift(dot.attr)
    current = dot.left
  }
  const root = (current as { Var?: unknown }).Var
  if (typeof root !== 'string' || path.length === 0) return undefined
  return PIN_PATHS[`${root}.${path.join('.')}`]
}
