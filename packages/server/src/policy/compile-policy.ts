/**
 * Compiles a validated Cedar policy (its JSON form) into a JavaScript closure with Cedar's exact semantics, so that a
 * decision does not pay cedar-wasm's per-call cost; anything this compiler does not know leaves the policy to cedar-wasm.
 */
import type { CedarValueJson, Expr, PatternElem, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs'
import { parseCedarIp } from './cedar-ip.js'
import {
  attribute, CedarIp, cedarEquals, EntityUid, hasAttribute, isIn, likeMatcher, NeedsReference, sameUid, setHas, uidOf, valueOf,
  type CedarEnv, type CedarValue,
} from './cedar-value.js'

/** True when the policy is satisfied; throws NeedsReference where Cedar would report an error for it. */
export type PolicyCondition = (env: CedarEnv) => boolean

type Evaluate = (env: CedarEnv) => CedarValue

/** Thrown while compiling: the policy uses something this compiler does not evaluate. */
class Unsupported extends Error {}

/**
 * The policy as a closure, or undefined when it uses what only cedar-wasm evaluates: templates (slots), `decimal`,
 * `datetime`, `duration` and any other extension function, entity tags (`getTag`, `hasTag`), Longs past 2^53.
 */
export function compilePolicy(json: PolicyJson): PolicyCondition | undefined {
  try {
    // Cedar evaluates a policy as `principal && action && resource && when... && !unless...`, left to right.
    const parts: PolicyCondition[] = [
      scope('principal', json.principal), actionScope(json.action), scope('resource', json.resource),
      ...json.conditions.map((clause): PolicyCondition => {
        const body = compile(clause.body)
        return clause.kind === 'when' ? (env) => bool(body(env)) : (env) => !bool(body(env))
      }),
    ]
    return (env) => {
      for (const part of parts) if (!part(env)) return false
      return true
    }
  } catch {
    // Unsupported, NeedsReference from a literal, or a shape this compiler did not expect: cedar-wasm evaluates it.
    return undefined
  }
}

function scope(variable: 'principal' | 'resource', constraint: PolicyJson['principal']): PolicyCondition {
  const of = (env: CedarEnv): EntityUid => env[variable]
  if (constraint.op === 'All') return () => true
  if ('slot' in constraint) throw new Unsupported('template slot')
  if (constraint.op === '==') {
    const uid = uidOf(constraint.entity)
    return (env) => sameUid(of(env), uid)
  }
  if (constraint.op === 'in') {
    const uids = [uidOf(constraint.entity)]
    return (env) => isIn(env, of(env), uids)
  }
  const type = constraint.entity_type
  if (constraint.in === undefined) return (env) => of(env).type === type
  if ('slot' in constraint.in) throw new Unsupported('template slot')
  const uids = [uidOf(constraint.in.entity)]
  return (env) => of(env).type === type && isIn(env, of(env), uids)
}

function actionScope(constraint: PolicyJson['action']): PolicyCondition {
  if (constraint.op === 'All') return () => true
  if ('slot' in constraint) throw new Unsupported('template slot')
  if (constraint.op === '==') {
    const uid = uidOf(constraint.entity)
    return (env) => sameUid(env.action, uid)
  }
  const uids = 'entities' in constraint ? constraint.entities.map(uidOf) : [uidOf(constraint.entity)]
  return (env) => isIn(env, env.action, uids)
}

type Binary = { left: Expr; right: Expr }

function compile(expr: Expr): Evaluate {
  const entries = Object.entries(expr as Record<string, unknown>)
  const [op, body] = entries[0] ?? []
  if (entries.length !== 1 || op === undefined) throw new Unsupported('malformed expression')
  const node = body as Record<string, unknown>
  const binary = (): [Evaluate, Evaluate] => [compile((node as Binary).left), compile((node as Binary).right)]
  switch (op) {
    case 'Value': {
      const value = valueOf(body as CedarValueJson)
      return () => value
    }
    case 'Var': {
      if (body === 'context') return (env) => env.context
      if (body === 'principal' || body === 'action' || body === 'resource') return (env) => env[body]
      throw new Unsupported(`variable ${String(body)}`)
    }
    case '!': {
      const arg = compile(node.arg as Expr)
      return (env) => !bool(arg(env))
    }
    case 'neg': {
      const arg = compile(node.arg as Expr)
      return (env) => checked(0 - long(arg(env)))
    }
    case '==': {
      const [left, right] = binary()
      return (env) => cedarEquals(left(env), right(env))
    }
    case '!=': {
      const [left, right] = binary()
      return (env) => !cedarEquals(left(env), right(env))
    }
    case '<': case '<=': case '>': case '>=': {
      const [left, right] = binary()
      if (op === '<') return (env) => long(left(env)) < long(right(env))
      if (op === '<=') return (env) => long(left(env)) <= long(right(env))
      if (op === '>') return (env) => long(left(env)) > long(right(env))
      return (env) => long(left(env)) >= long(right(env))
    }
    case '+': case '-': case '*': {
      const [left, right] = binary()
      if (op === '+') return (env) => checked(long(left(env)) + long(right(env)))
      if (op === '-') return (env) => checked(long(left(env)) - long(right(env)))
      return (env) => checked(long(left(env)) * long(right(env)))
    }
    case '&&': {
      const [left, right] = binary()
      return (env) => bool(left(env)) && bool(right(env))
    }
    case '||': {
      const [left, right] = binary()
      return (env) => bool(left(env)) || bool(right(env))
    }
    case 'in': {
      const [left, right] = binary()
      return (env) => {
        const uid = entity(left(env))
        const target = right(env)
        if (target instanceof EntityUid) return isIn(env, uid, [target])
        // Cedar converts every member before comparing: a non-entity member is an error even after a match.
        return isIn(env, uid, set(target).map(entity))
      }
    }
    case 'contains': {
      const [left, right] = binary()
      return (env) => setHas(set(left(env)), right(env))
    }
    case 'containsAll': {
      const [left, right] = binary()
      return (env) => {
        const all = set(left(env))
        return set(right(env)).every((member) => setHas(all, member))
      }
    }
    case 'containsAny': {
      const [left, right] = binary()
      return (env) => {
        const all = set(left(env))
        return set(right(env)).some((member) => setHas(all, member))
      }
    }
    case 'isEmpty': {
      const arg = compile(node.arg as Expr)
      return (env) => set(arg(env)).length === 0
    }
    case '.': {
      const left = compile(node.left as Expr)
      const attr = node.attr as string
      return (env) => attribute(env, left(env), attr)
    }
    case 'has': {
      const left = compile(node.left as Expr)
      const path = ([] as string[]).concat(node.attr as string | string[])
      const last = path.pop()
      if (last === undefined) throw new Unsupported('empty has')
      // `e has a.b` is `e has a && e.a has b`.
      return (env) => {
        let value = left(env)
        for (const attr of path) {
          if (!hasAttribute(env, value, attr)) return false
          value = attribute(env, value, attr)
        }
        return hasAttribute(env, value, last)
      }
    }
    case 'like': {
      const left = compile(node.left as Expr)
      const matches = likeMatcher(node.pattern as PatternElem[])
      return (env) => matches(string(left(env)))
    }
    case 'is': {
      const left = compile(node.left as Expr)
      const type = node.entity_type as string
      if (node.in === undefined) return (env) => entity(left(env)).type === type
      const target = compile(node.in as Expr)
      // `e is T in x` is `e is T && e in x`.
      return (env) => {
        const uid = entity(left(env))
        if (uid.type !== type) return false
        const to = target(env)
        return isIn(env, uid, to instanceof EntityUid ? [to] : set(to).map(entity))
      }
    }
    case 'if-then-else': {
      const [test, then, otherwise] = [node.if, node.then, node.else].map((part) => compile(part as Expr)) as [Evaluate, Evaluate, Evaluate]
      return (env) => (bool(test(env)) ? then(env) : otherwise(env))
    }
    case 'Set': {
      const members = (body as Expr[]).map(compile)
      return (env) => members.map((member) => member(env))
    }
    case 'Record': {
      const members = Object.entries(node).map(([key, member]) => [key, compile(member as Expr)] as const)
      return (env) => new Map(members.map(([key, member]) => [key, member(env)]))
    }
    default:
      return extensionCall(op, body)
  }
}

/** `ip(s)` and the `ipaddr` methods; every other extension (decimal, datetime, duration) is left to cedar-wasm. */
function extensionCall(name: string, body: unknown): Evaluate {
  if (!Array.isArray(body)) throw new Unsupported(`operator ${name}`)
  const args = (body as Expr[]).map(compile)
  const [first, second] = args
  if (first === undefined) throw new Unsupported(`call ${name}`)
  if (name === 'ip' && args.length === 1) {
    const literal = (body[0] as { Value?: unknown }).Value
    if (typeof literal === 'string') {
      // A literal is parsed once; one Cedar would refuse is left to cedar-wasm to report.
      const ip = parseCedarIp(literal)
      if (ip === undefined) throw new Unsupported('invalid ip literal')
      return () => ip
    }
    return (env) => {
      const ip = parseCedarIp(string(first(env)))
      if (ip === undefined) throw new NeedsReference('invalid ip')
      return ip
    }
  }
  if (args.length === 1) {
    if (name === 'isIpv4') return (env) => ipOf(first(env)).v4
    if (name === 'isIpv6') return (env) => !ipOf(first(env)).v4
    if (name === 'isLoopback') return (env) => ipOf(first(env)).isLoopback()
    if (name === 'isMulticast') return (env) => ipOf(first(env)).isMulticast()
  }
  if (name === 'isInRange' && second !== undefined && args.length === 2) return (env) => ipOf(first(env)).isInRange(ipOf(second(env)))
  throw new Unsupported(`extension function ${name}`)
}

// Type checks: the validator rules these errors out, but an error must never pass as a value.
function bool(value: CedarValue): boolean {
  if (typeof value !== 'boolean') throw new NeedsReference('type error: expected a boolean')
  return value
}

function long(value: CedarValue): number {
  if (typeof value !== 'number') throw new NeedsReference('type error: expected a Long')
  return value
}

function string(value: CedarValue): string {
  if (typeof value !== 'string') throw new NeedsReference('type error: expected a String')
  return value
}

function set(value: CedarValue): readonly CedarValue[] {
  if (!Array.isArray(value)) throw new NeedsReference('type error: expected a Set')
  return value as readonly CedarValue[]
}


function entity(value: CedarValue): EntityUid {
  if (!(value instanceof EntityUid)) throw new NeedsReference('type error: expected an entity')
  return value
}

function ipOf(value: CedarValue): CedarIp {
  if (!(value instanceof CedarIp)) throw new NeedsReference('type error: expected an ipaddr')
  return value
}

// Cedar's Longs are 64-bit and overflow is an error. Results past 2^53 are not exact here, so cedar-wasm decides
// those: it reports the overflow, or computes the exact value. Exact products and sums below 2^53 are exact in doubles.
function checked(result: number): number {
  if (!Number.isSafeInteger(result)) throw new NeedsReference('a Long past 2^53')
  return result === 0 ? 0 : result
}
