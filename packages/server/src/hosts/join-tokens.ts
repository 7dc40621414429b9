/**
 * Join tokens: one-time, short-lived secrets an admin hands to a host so it can enroll. The token is
 * `writ-join-<id>.<secret>` (id 128 bits hex, secret 256 bits base64url); only SHA-256 of the secret is stored, compared
 * in constant time; shown once, audited by id.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import { WritError } from '@writ/sdk'
import type { AdminIdentity } from '../admins/admin-identity.js'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'
import { hostNameSchema, labelsSchema, type JoinToken } from './host.js'

export const JOIN_TOKEN_DEFAULT_TTL_SECONDS = 15 * 60
export const JOIN_TOKEN_MAX_TTL_SECONDS = 24 * 60 * 60
const JOIN_TOKEN = /^writ-join-([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/

export const joinTokenRequestSchema = z.strictObject({
  labels: labelsSchema.default({}),
  name: hostNameSchema.optional(),
  ttl_seconds: z.number().int().min(60).max(JOIN_TOKEN_MAX_TTL_SECONDS).default(JOIN_TOKEN_DEFAULT_TTL_SECONDS),
})

export interface CreatedJoinToken {
  id: string
  /** Shown once; never stored, logged or audited. */
  token: string
  expires_at: string
  labels: Record<string, string>
  name?: string
}

export async function createJoinToken(input: unknown, admin: AdminIdentity, deps: { storage: Storage; clock: Clock }): Promise<CreatedJoinToken> {
  const parsed = joinTokenRequestSchema.safeParse(input ?? {})
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    throw new WritError('REQUEST_INVALID', `the join token request is invalid: ${reasons.join('; ')}`, { reasons })
  }
  const { labels, name, ttl_seconds: ttlSeconds } = parsed.data
  const now = deps.clock.nowMs()
  const id = randomBytes(16).toString('hex')
  const secret = randomBytes(32).toString('base64url')
  const row: JoinToken = {
    id, secret_hash: hashSecret(secret), labels, name: name ?? null, expires_at: now + ttlSeconds * 1000,
    spent_at: null, host_id: null, created_by: admin.id, created_at: now,
  }
  await deps.storage.transaction(async (tx) => {
    await tx.hosts.insertJoinToken(row)
    await tx.audit.append([{
      type: 'host.join_token.create',
      actor: { kind: 'admin', id: admin.id },
      data: { join_token_id: id, labels, ...(name ? { name } : {}), expires_at: new Date(row.expires_at).toISOString() },
    }], now)
  })
  return { id, token: `writ-join-${id}.${secret}`, expires_at: new Date(row.expires_at).toISOString(), labels, ...(name ? { name } : {}) }
}

/** The id and secret of a presented token, or undefined when it is not shaped like one. */
export function splitJoinToken(token: unknown): { id: string; secret: string } | undefined {
  if (typeof token !== 'string') return undefined
  const match = JOIN_TOKEN.exec(token)
  return match ? { id: match[1] as string, secret: match[2] as string } : undefined
}

/** True when `secret` is the one whose hash is stored (constant time over the two digests). */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex')
  const stored = Buffer.from(storedHash, 'hex')
  return presented.length === stored.length && timingSafeEqual(presented, stored)
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}
