/** Cedar values as the JavaScript evaluation of compiled policies holds them: equality, `like`, `in`, attributes, the request. */
import type { CedarValueJson, EntityJson, EntityUidJson, PatternElem } from '@cedar-policy/cedar-wasm/nodejs'
import { CedarIp, parseCedarIp } from './cedar-ip.js'
import type { CedarRequest } from './cedar-request.js'

export { CedarIp } from './cedar-ip.js'

export class EntityUid {
  constructor(readonly type: string, readonly id: string) {}
}

/**
 * Bool, Long (a safe integer: anything wider is left to cedar-wasm), String, entity, `ipaddr`, Set (an array whose
 * order means nothing), Record (a Map, so that a member called `__proto__` is just a member).
 */
export type CedarValue = boolean | number | string | EntityUid | CedarIp | readonly CedarValue[] | CedarRecord
export type CedarRecord = ReadonlyMap<string, CedarValue>

/**
 * Thrown when an expression errors in Cedar (type error, overflow, missing attribute or entity), or when a value is
 * one this evaluation does not hold exactly (a Long past 2^53, a string that is not well-formed UTF-16): the request
 * then goes to cedar-wasm, which reports it exactly.
 */
export class NeedsReference extends Error {}

export interface CedarEntity {
  uid: EntityUid
  attrs: CedarRecord
  parents: readonly EntityUid[]
}

/** A request as compiled policies read it. */
export interface CedarEnv {
  principal: EntityUid
  action: EntityUid
  resource: EntityUid
  context: CedarRecord
  entities: readonly CedarEntity[]
}

export function entityOf(env: CedarEnv, uid: EntityUid): CedarEntity | undefined {
  for (const entity of env.entities) if (entity.uid.type === uid.type && entity.uid.id === uid.id) return entity
  return undefined
}

/** Cedar's `==`: structural, values of different types are unequal (never an error), sets compare as sets. */
export function cedarEquals(a: CedarValue, b: CedarValue): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object') return false
  if (a instanceof EntityUid) return b instanceof EntityUid && a.type === b.type && a.id === b.id
  if (a instanceof CedarIp) return b instanceof CedarIp && a.equals(b)
  if (Array.isArray(a)) {
    if (!Array.isArray(b)) return false
    const left = a as readonly CedarValue[]
    const right = b as readonly CedarValue[]
    return left.every((x) => setHas(right, x)) && right.every((y) => setHas(left, y))
  }
  if (!(a instanceof Map) || !(b instanceof Map) || a.size !== b.size) return false
  for (const [key, value] of a) {
    const other = b.get(key)
    if (other === undefined || !cedarEquals(value, other)) return false
  }
  return true
}

export function setHas(set: readonly CedarValue[], value: CedarValue): boolean {
  for (const member of set) if (cedarEquals(member, value)) return true
  return false
}

export function uidOf(json: EntityUidJson): EntityUid {
  const uid = '__entity' in json ? json.__entity : json
  return new EntityUid(wellFormed(uid.type), wellFormed(uid.id))
}

/** A value in Cedar's JSON form (policy literals, request attributes), or NeedsReference when it is not one we hold. */
export function valueOf(json: CedarValueJson): CedarValue {
  if (typeof json === 'boolean') return json
  if (typeof json === 'number') {
    if (!Number.isSafeInteger(json)) throw new NeedsReference('a Long past 2^53 or not an integer')
    return json
  }
  if (typeof json === 'string') return wellFormed(json)
  if (json === null) throw new NeedsReference('null')
  if (Array.isArray(json)) return json.map(valueOf)
  const object = json as Record<string, CedarValueJson>
  if (Object.hasOwn(object, '__entity')) {
    const uid = object.__entity as { type?: unknown; id?: unknown }
    if (typeof uid.type !== 'string' || typeof uid.id !== 'string') throw new NeedsReference('malformed entity')
    return new EntityUid(wellFormed(uid.type), wellFormed(uid.id))
  }
  if (Object.hasOwn(object, '__extn')) {
    const call = object.__extn as { fn?: unknown; arg?: unknown }
    const ip = call.fn === 'ip' && typeof call.arg === 'string' ? parseCedarIp(call.arg) : undefined
    if (ip === undefined) throw new NeedsReference('an extension value other than a valid ip')
    return ip
  }
  // Frozen records (the per-minute `context.time`) do not change, so each is converted once.
  const frozen = Object.isFrozen(object)
  const cached = frozen ? frozenRecords.get(object) : undefined
  if (cached !== undefined) return cached
  const record: CedarRecord = new Map(Object.entries(object).map(([key, value]) => [wellFormed(key), valueOf(value)]))
  if (frozen) frozenRecords.set(object, record)
  return record
}

const frozenRecords = new WeakMap<object, CedarRecord>()

// cedar-wasm throws on a lone surrogate; leaving such a request to it keeps that behaviour (a fail-closed deny).
function wellFormed(text: string): string {
  // String.prototype.isWellFormed is in Node 20 (ES2024), past the ES2023 library this project compiles against.
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed()) throw new NeedsReference('a string that is not well-formed UTF-16')
  return text
}

// Entities are rebuilt only with a new document (see cedar-request.ts), so each is converted once.
const converted = new WeakMap<EntityJson, CedarEntity>()

function entityFrom(json: EntityJson): CedarEntity {
  let entity = converted.get(json)
  if (entity === undefined) {
    const attrs = valueOf(json.attrs as CedarValueJson)
    if (!(attrs instanceof Map) || (json.tags !== undefined && Object.keys(json.tags).length > 0)) throw new NeedsReference('entity tags')
    entity = { uid: uidOf(json.uid), attrs, parents: json.parents.map(uidOf) }
    converted.set(json, entity)
  }
  return entity
}

/** The request as compiled policies read it; NeedsReference when part of it is not held exactly. */
export function envOf(request: CedarRequest): CedarEnv {
  const context = valueOf(request.context as CedarValueJson)
  if (!(context instanceof Map)) throw new NeedsReference('context is not a record')
  return {
    principal: uidOf(request.principal),
    action: uidOf(request.action),
    resource: uidOf(request.resource),
    context,
    entities: request.entities.map(entityFrom),
  }
}

/**
 * Cedar's `like`: `*` (Wildcard) matches any run of characters, every Literal matches itself. Matching the literal
 * runs as UTF-16 is matching code points: strings here are well-formed (cedar-value.ts), and a run never starts with
 * a low surrogate, so it cannot match inside a pair.
 */
export function likeMatcher(pattern: readonly PatternElem[]): (text: string) => boolean {
  const runs: string[] = ['']
  for (const element of pattern) {
    if (element === 'Wildcard') runs.push('')
    else runs[runs.length - 1] += element.Literal
  }
  const first = runs[0] ?? ''
  if (runs.length === 1) return (text) => text === first
  const last = runs[runs.length - 1] ?? ''
  const middle = runs.slice(1, -1).filter((run) => run !== '')
  return (text) => {
    if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last)) return false
    // Leftmost matches are enough with only `*`: a later match of a run never leaves more room for the next ones.
    let at = first.length
    const end = text.length - last.length
    for (const run of middle) {
      const found = text.indexOf(run, at)
      if (found === -1 || found + run.length > end) return false
      at = found + run.length
    }
    return true
  }
}

export function attribute(env: CedarEnv, value: CedarValue, attr: string): CedarValue {
  const record = recordOf(env, value)
  const member = record.get(attr)
  if (member === undefined) throw new NeedsReference(`missing attribute ${attr}`)
  return member
}

export function hasAttribute(env: CedarEnv, value: CedarValue, attr: string): boolean {
  // Cedar: `has` on an entity that does not exist is false, not an error.
  if (value instanceof EntityUid) return entityOf(env, value)?.attrs.has(attr) ?? false
  return record(value).has(attr)
}

export function recordOf(env: CedarEnv, value: CedarValue): CedarRecord {
  if (!(value instanceof EntityUid)) return record(value)
  const found = entityOf(env, value)
  if (found === undefined) throw new NeedsReference('entity does not exist')
  return found.attrs
}

/** Cedar's `in`: the entity is one of `targets` or a descendant of one (through parents, transitively). */
export function isIn(env: CedarEnv, uid: EntityUid, targets: readonly EntityUid[]): boolean {
  for (const target of targets) if (sameUid(uid, target)) return true
  const seen = new Set<string>()
  const pending = [...(entityOf(env, uid)?.parents ?? [])]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    for (const target of targets) if (sameUid(next, target)) return true
    const key = `${next.type.length}:${next.type}${next.id}`
    if (seen.has(key)) continue
    seen.add(key)
    pending.push(...(entityOf(env, next)?.parents ?? []))
  }
  return false
}

export function sameUid(a: EntityUid, b: EntityUid): boolean {
  return a.type === b.type && a.id === b.id
}

function record(value: CedarValue): CedarRecord {
  if (!(value instanceof Map)) throw new NeedsReference('type error: expected a record or an entity')
  return value as CedarRecord
}
