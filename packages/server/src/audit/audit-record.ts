/** The audit record of the wire profile (docs/tokens.md) and its hash: SHA-256 over the RFC 8785 canonical form. */
import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'

export const GENESIS_HASH = '0'.repeat(64)

export type ActorKind = 'agent' | 'human' | 'admin' | 'host' | 'system' | 'resource_server'

export interface AuditEvent {
  /** `noun.verb`, e.g. `token.issue`, `agent.register`. */
  type: string
  actor: { kind: ActorKind; id: string }
  on_behalf_of?: string
  task?: { id: string; step?: string }
  layer?: 'trigger' | 'plan' | 'action'
  action?: string
  resource?: string
  decision?: { effect: 'allow' | 'deny' | 'hold'; reasons: string[] }
  /** The token id and expiry: never the token itself. */
  token?: { jti: string; exp: number }
  /** Event-specific data; no secrets. */
  data?: Record<string, unknown>
}

export interface AuditRecord extends AuditEvent {
  seq: number
  /** UTC, ISO 8601 with milliseconds. */
  time: string
  prev_hash: string
  hash: string
}

export function canonicalJson(value: unknown): string {
  const text = canonicalize(value)
  if (text === undefined) throw new TypeError('value has no canonical JSON form')
  return text
}

/** The hash covers every member but `hash` itself, so seq, time and prev_hash are all bound. */
export function hashRecord(record: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(canonicalJson(record)).digest('hex')
}

/** The sealed record and the JSON stored for it (the canonical form plus `hash`, so it is serialised only once). */
export interface SealedRecord {
  record: AuditRecord
  json: string
}

export function sealRecord(event: AuditEvent, seq: number, timeMs: number, prevHash: string): SealedRecord {
  // Canonical JSON drops undefined members, as JSON.stringify does, so the stored record equals the hashed one.
  const unsealed: Omit<AuditRecord, 'hash'> = { seq, time: new Date(timeMs).toISOString(), ...event, prev_hash: prevHash }
  const canonical = canonicalJson(unsealed)
  const hash = createHash('sha256').update(canonical).digest('hex')
  return { record: { ...unsealed, hash }, json: `${canonical.slice(0, -1)},"hash":"${hash}"}` }
}

export interface ChainHead { seq: number; hash: string }

/** Seals `events` in order after `head` (each record names the one before it) and returns the new head. */
export function sealAfter(head: ChainHead, events: readonly AuditEvent[], timeMs: number): { sealed: SealedRecord[]; head: ChainHead } {
  let seq = head.seq
  let hash = head.hash
  const sealed = events.map((event) => {
    const next = sealRecord(event, ++seq, timeMs, hash)
    hash = next.record.hash
    return next
  })
  return { sealed, head: { seq, hash } }
}
