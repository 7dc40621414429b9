/** Admin API middleware: every call needs an admin credential; failures are audited without the credential. */
import type { MiddlewareHandler } from 'hono'
import { WritError } from '@writ/sdk'
import { authenticateAdmin } from '../admins/admin-credentials.js'
import type { AdminIdentity } from '../admins/admin-identity.js'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'

export type AdminEnv = { Variables: { admin: AdminIdentity } }

export function adminAuth(storage: Storage, clock: Clock): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization')
    const credential = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined
    const admin = await authenticateAdmin(credential, storage)
    if (!admin) {
      await storage.transaction((tx) => tx.audit.append([{
        type: 'admin.authentication_fail',
        actor: { kind: 'admin', id: 'unknown' },
        decision: { effect: 'deny', reasons: [credential === undefined ? 'credential_missing' : 'credential_invalid'] },
        data: { method: c.req.method, path: c.req.path.slice(0, 256) },
      }], clock.nowMs()))
      throw new WritError('ADMIN_UNAUTHENTICATED', 'an admin credential is required (Authorization: Bearer)')
    }
    c.set('admin', admin)
    await next()
  }
}
