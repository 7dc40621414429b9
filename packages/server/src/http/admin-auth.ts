/**
 * Admin API middleware: every call needs an admin credential, and the refusals are audited without the credential:
 * an unknown or revoked credential (authentication) and a known admin refused for a missing role (authorization).
 */
import type { Context, MiddlewareHandler } from 'hono'
import { WritError } from '@writ/sdk'
import { authenticateAdmin } from '../admins/admin-credentials.js'
import type { AdminIdentity } from '../admins/admin-identity.js'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'

export type AdminEnv = { Variables: { admin: AdminIdentity } }

// The refusals of an authenticated admin: a role it lacks, or an approval it may not decide.
const AUTHORIZATION_FAILURES = new Set(['ADMIN_FORBIDDEN', 'APPROVER_NOT_ALLOWED'])

export function adminAuth(storage: Storage, clock: Clock): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization')
    const credential = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined
    const admin = await authenticateAdmin(credential, storage, clock)
    if (!admin) {
      await storage.transaction((tx) => tx.audit.append([{
        type: 'admin.authentication_fail',
        actor: { kind: 'admin', id: 'unknown' },
        decision: { effect: 'deny', reasons: [credential === undefined ? 'credential_missing' : 'credential_invalid'] },
        data: requestData(c),
      }], clock.nowMs()))
      throw new WritError('ADMIN_UNAUTHENTICATED', 'an admin credential is required (Authorization: Bearer)')
    }
    c.set('admin', admin)
    await next()
    // The route threw and the error handler has already rendered it (Hono sets c.error); record a refusal. If this
    // append fails, the error handler answers 500 instead: a refusal is never left unrecorded.
    const error = c.error
    if (error instanceof WritError && AUTHORIZATION_FAILURES.has(error.code)) {
      await storage.transaction((tx) => tx.audit.append([{
        type: 'admin.authorization_fail',
        actor: { kind: 'admin', id: admin.id },
        decision: { effect: 'deny', reasons: error.reasons.length > 0 ? [...error.reasons] : [error.code.toLowerCase()] },
        data: { ...requestData(c), code: error.code },
      }], clock.nowMs()))
    }
  }
}

function requestData(c: Context): Record<string, string> {
  return { method: c.req.method, path: c.req.path.slice(0, 256) }
}
