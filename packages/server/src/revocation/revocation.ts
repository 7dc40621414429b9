/** What can be revoked, by whom, and the record of one revocation (types and pure helpers). */
import type { RevocationEvent } from '@writ/sdk'

/** A revocation's target as the admin API and the service name it (a grant's events are of kind `delegation`). */
export type RevocationTarget =
  | { kind: 'token'; jti: string }
  | { kind: 'task'; taskId: string }
  | { kind: 'grant'; jti: string }
  | { kind: 'agent'; agentId: string }
  | { kind: 'key'; kid: string }

export type RevocationTargetKind = RevocationTarget['kind']
export const REVOCATION_TARGET_KINDS = ['token', 'task', 'grant', 'agent', 'key'] as const satisfies RevocationTargetKind[]

/** Who revoked: an admin (API, CLI), an agent (its own tokens, RFC 7009) or a resource server (tokens for its audience). */
export interface RevocationActor {
  kind: 'admin' | 'agent' | 'resource_server'
  id: string
}

export interface Revocation {
  id: string
  kind: RevocationTargetKind
  target: string
  /** What it covers, as the audit record names it: counts and ids, never a token string. */
  covers: Record<string, unknown>
  reason: string
  actor: RevocationActor
  revokedAt: number
  forgetAfter: number
}

/** An event with the id the stream sends as `id:`. */
export interface StoredRevocationEvent {
  eventId: number
  event: RevocationEvent
}

export const MAX_REASON_LENGTH = 500

export function targetValue(target: RevocationTarget): string {
  switch (target.kind) {
    case 'token': case 'grant': return target.jti
    case 'task': return target.taskId
    case 'agent': return target.agentId
    case 'key': return target.kid
  }
}
