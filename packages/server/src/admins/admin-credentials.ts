/** Admin credentials: random bearer secrets stored only as SHA-256 hashes and compared in constant time. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { WritError } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'
import type { AdminIdentity } from './admin-identity.js'

/** Built-in roles; any other role name (e.g. `release-manager`) is what identity documents name as approvers. */
export const BUILT_IN_ROLES = ['admin', 'approver', 'auditor'] as const

// Format `writ_admin_<id>_<secret>`: the id finds the row, the 256-bit secret is what proves possession. A fast hash
// is enough for a random secret of that size (no dictionary to attack), and keeps admin calls cheap.
const PATTERN = /^writ_admin_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/

export interface CreatedAdmin {
  admin: AdminIdentity
  /** The bearer credential: shown once, never stored. */
  credential: string
}

export async function createAdmin(name: string, roles: string[], createdBy: AdminIdentity | 'system', storage: Storage, clock: Clock): Promise<CreatedAdmin> {
  const id = randomBytes(8).toString('hex')
  const secret = randomBytes(32).toString('base64url')
  const admin: AdminIdentity = { id, name, roles }
  await storage.transaction(async (tx) => {
    await tx.admins.insert({ id, name, roles, tokenHash: hashSecret(secret), createdAt: clock.nowMs() })
    await tx.audit.append([{
      type: 'admin.create',
      actor: createdBy === 'system' ? { kind: 'system', id: 'bootstrap' } : { kind: 'admin', id: createdBy.id },
      data: { admin_id: id, name, roles },
    }], clock.nowMs())
  })
  return { admin, credential: `writ_admin_${id}_${secret}` }
}

// How stale `last_used_at` may get: a finer record would cost a write on every admin call.
export const LAST_USED_RESOLUTION_MS = 60_000

/**
 * Returns the admin a credential belongs to, or undefined; never says which part was wrong. Reads storage on every
 * call (no cache), so a revocation refuses the credential's very next request.
 */
export async function authenticateAdmin(credential: string | undefined, storage: Storage, clock: Clock): Promise<AdminIdentity | undefined> {
  const match = credential === undefined ? null : PATTERN.exec(credential)
  if (!match) return undefined
  const [, id, secret] = match as unknown as [string, string, string]
  const record = await storage.admins.find(id)
  // Hash even when the id is unknown, so timing does not reveal which admin ids exist.
  const presented = Buffer.from(hashSecret(secret), 'hex')
  const stored = Buffer.from(record?.tokenHash ?? '0'.repeat(64), 'hex')
  if (!timingSafeEqual(presented, stored) || !record || record.disabledAt !== null) return undefined
  const now = clock.nowMs()
  if (record.lastUsedAt === null || now - record.lastUsedAt >= LAST_USED_RESOLUTION_MS) await storage.admins.touch(id, now)
  return { id: record.id, name: record.name, roles: record.roles }
}

export function requireRole(admin: AdminIdentity, role: string): void {
  if (!admin.roles.includes('admin') && !admin.roles.includes(role)) {
    throw new WritError('ADMIN_FORBIDDEN', `this call needs the \`${role}\` role`, { reasons: [`role_required:${role}`] })
  }
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}
