/**
 * RevocationList: the revocation events a verifier has learnt, checked against a verified token (pure, no I/O). Each
 * entry is kept only until its `forget_after`, when every token it could affect has expired, so memory stays bounded
 * by what is revoked *and still live*, never by everything ever revoked.
 */
import { LIFETIMES, type ActorClaim, type CapabilityClaims } from '../wire/profile.js'
import { ExpiryQueue } from './expiry-queue.js'

export const REVOCATION_KINDS = ['token', 'task', 'delegation', 'agent', 'key'] as const
export type RevocationKind = (typeof REVOCATION_KINDS)[number]

/** One revocation event (the stream's `event: revocation` data; docs/revocation.md). */
export interface RevocationEvent {
  kind: RevocationKind
  iss: string
  /** `token`: the token's jti; `delegation`: the grant's jti (tokens whose `parent` it is). */
  jti?: string
  task_id?: string
  agent_id?: string
  kid?: string
  /** NumericDate seconds. */
  revoked_at: number
  /** NumericDate seconds: after it nothing the event covers can still be valid. */
  forget_after: number
}

/** What each kind names: the one member that identifies its target. */
export const REVOCATION_TARGET_MEMBER = {
  token: 'jti', delegation: 'jti', task: 'task_id', agent: 'agent_id', key: 'kid',
} as const satisfies Record<RevocationKind, keyof RevocationEvent>

// Bounds on what a stream may feed in (hostile or broken peer): identifiers longer than any Writ issues are refused.
const MAX_VALUE_LENGTH = 512

/**
 * The event if `value` is a well-formed revocation event, else undefined. Untrusted: it comes off the network, so
 * every member is checked for type and size and unknown kinds are refused rather than guessed at.
 */
export function parseRevocationEvent(value: unknown): RevocationEvent | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const v = value as Record<string, unknown>
  const kind = v.kind
  if (typeof kind !== 'string' || !(REVOCATION_KINDS as readonly string[]).includes(kind)) return undefined
  const member = REVOCATION_TARGET_MEMBER[kind as RevocationKind]
  const target = v[member]
  if (!isBoundedString(target) || !isBoundedString(v.iss)) return undefined
  if (!isNumericDate(v.revoked_at) || !isNumericDate(v.forget_after)) return undefined
  return { kind: kind as RevocationKind, iss: v.iss, [member]: target, revoked_at: v.revoked_at, forget_after: v.forget_after }
}

/** The claims a revocation can match; a verified CapabilityClaims has all of them. */
export type RevocableClaims = Pick<CapabilityClaims, 'iss' | 'jti' | 'sub' | 'client_id' | 'iat' | 'task'> & {
  act?: ActorClaim | undefined
  parent?: string | undefined
}

interface Entry {
  revokedAt: number
  forgetAfter: number
}

type KindMaps = Record<RevocationKind, Map<string, Entry>>

export interface RevocationListOptions {
  /**
   * Seconds an entry is kept past its `forget_after`. A verifier accepts a token up to its leeway after `exp`, and a
   * `token` event's `forget_after` is that `exp`: dropping it exactly then would revive the token for the leeway.
   * Default LIFETIMES.maxLeeway (60), the most leeway any verifier may be configured with.
   */
  graceSeconds?: number
  /**
   * Current time in epoch seconds. When given, every apply also drops what has expired by it (the subscriber gives
   * its clock); without it only prune() drops anything, with the caller's clock (a server with its own clock).
   */
  now?: () => number
}

export class RevocationList {
  private readonly graceSeconds: number
  private readonly now: (() => number) | undefined
  private lastId: number | undefined
  // Every entry by when it may be forgotten: a prune pops what has expired and never looks at what has not.
  private readonly expiries = new ExpiryQueue<{ maps: KindMaps; iss: string; kind: RevocationKind; value: string }>()

  constructor(options: RevocationListOptions = {}) {
    this.graceSeconds = options.graceSeconds ?? LIFETIMES.maxLeeway
    if (!Number.isInteger(this.graceSeconds) || this.graceSeconds < 0) throw new TypeError('graceSeconds must be a non-negative integer')
    this.now = options.now
  }

  // Per issuer, one map per kind keyed by the target value: a verification looks the token's own strings up as they
  // are, without building a key string per lookup (that allocation and its hashing were most of the check's cost).
  private readonly issuers = new Map<string, KindMaps>()
  private count = 0

  /**
   * Adds an event; a second event for the same target keeps the later `revoked_at` and the later `forget_after`.
   * `eventId` is the stream's event id, remembered as `lastEventId` (the `Last-Event-ID` to resume from). With a
   * `now` option each apply also drops what has expired by it (O(log n) per entry, no scan), so memory stays bounded
   * by what is still live without anyone calling prune().
   */
  apply(event: RevocationEvent, eventId?: number): void {
    const value = event[REVOCATION_TARGET_MEMBER[event.kind]]
    if (value === undefined) throw new TypeError(`a ${event.kind} revocation names its ${REVOCATION_TARGET_MEMBER[event.kind]}`)
    let maps = this.issuers.get(event.iss)
    if (maps === undefined) {
      maps = { token: new Map(), task: new Map(), delegation: new Map(), agent: new Map(), key: new Map() }
      this.issuers.set(event.iss, maps)
    }
    const map = maps[event.kind]
    const known = map.get(value)
    const forgetAfter = event.forget_after + this.graceSeconds
    if (known === undefined) {
      this.count++
      map.set(value, { revokedAt: event.revoked_at, forgetAfter })
      this.expiries.push(forgetAfter, { maps, iss: event.iss, kind: event.kind, value })
    } else {
      // Queued again only when the entry lives longer: a repeated event adds nothing to the queue.
      if (forgetAfter > known.forgetAfter) this.expiries.push(forgetAfter, { maps, iss: event.iss, kind: event.kind, value })
      map.set(value, { revokedAt: Math.max(known.revokedAt, event.revoked_at), forgetAfter: Math.max(known.forgetAfter, forgetAfter) })
    }
    if (eventId !== undefined) this.noteEventId(eventId)
    if (this.now !== undefined) this.prune(this.now())
  }

  /** Records a stream event id without an event (a heartbeat's `last_event_id`); ids only move forward. */
  noteEventId(eventId: number): void {
    if (!Number.isSafeInteger(eventId) || eventId < 0) throw new TypeError('eventId must be a non-negative integer')
    if (this.lastId === undefined || eventId > this.lastId) this.lastId = eventId
  }

  /**
   * Forgets the event id (not the entries): the next connection asks for the whole snapshot. For a stream whose ids
   * went back (a control plane restored from a backup), where resuming after the old id would skip new events.
   */
  forgetEventId(): void {
    this.lastId = undefined
  }

  /** The greatest stream event id applied so far, or undefined before the first. */
  get lastEventId(): number | undefined {
    return this.lastId
  }

  /**
   * True when a verified token is covered by a revocation: its (iss, jti); its parent grant; its task; its key id; or
   * an agent it names (`client_id`, `sub`, any actor of `act`) that was revoked at or after the token's `iat`.
   */
  isRevoked(claims: RevocableClaims, kid: string | undefined, nowSeconds: number): boolean {
    const m = this.issuers.get(claims.iss)
    if (m === undefined) return false
    if (live(m.token.get(claims.jti), nowSeconds)) return true
    if (claims.parent !== undefined && live(m.delegation.get(claims.parent), nowSeconds)) return true
    if (claims.task !== undefined && live(m.task.get(claims.task.id), nowSeconds)) return true
    if (kid !== undefined && live(m.key.get(kid), nowSeconds)) return true
    if (m.agent.size === 0) return false
    // The kill switch: a token minted for (or through) the agent before it was stopped. A token minted after a later
    // reactivation has a greater `iat` and stays valid.
    const agentRevoked = (id: string): boolean => {
      const entry = m.agent.get(id)
      return entry !== undefined && live(entry, nowSeconds) && claims.iat <= entry.revokedAt
    }
    if (agentRevoked(claims.client_id) || (claims.sub !== claims.client_id && agentRevoked(claims.sub))) return true
    for (let actor = claims.act; actor !== undefined; actor = actor.act) if (agentRevoked(actor.sub)) return true
    return false
  }

  /** Forgets every entry whose `forget_after` (plus the grace) has passed; returns how many were dropped. */
  prune(nowSeconds: number): number {
    let dropped = 0
    this.expiries.popUntil(nowSeconds, ({ maps, iss, kind, value }) => {
      const map = maps[kind]
      const entry = map.get(value)
      // A later event may have extended the entry; its own queue item forgets it then.
      if (entry === undefined || entry.forgetAfter > nowSeconds) return
      map.delete(value)
      dropped++
      if (map.size === 0 && this.issuers.get(iss) === maps && REVOCATION_KINDS.every((k) => maps[k].size === 0)) this.issuers.delete(iss)
    })
    this.count -= dropped
    return dropped
  }

  get size(): number {
    return this.count
  }
}

// An entry past forget_after (plus the grace) can only match tokens that have expired; it is ignored until prune() drops it.
function live(entry: Entry | undefined, nowSeconds: number): boolean {
  return entry !== undefined && entry.forgetAfter > nowSeconds
}

function isBoundedString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_VALUE_LENGTH
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}
