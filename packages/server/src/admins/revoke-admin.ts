/** Revokes an admin credential at once, but never the last active one with the `admin` role. */
import { WritError } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { AdminRecord } from '../storage/admin-repository.js'
import type { Storage } from '../storage/storage.js'
import type { AdminIdentity } from './admin-identity.js'

export async function revokeAdmin(id: string, by: AdminIdentity, storage: Storage, clock: Clock): Promise<AdminRecord> {
  return storage.transaction(async (tx) => {
    // Locked before the check (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises), so two admins revoking each
    // other at the same moment cannot leave nobody able to administer the server.
    const active = await tx.admins.listActiveLocked()
    const target = await tx.admins.find(id)
    if (!target) throw new WritError('ADMIN_NOT_FOUND', `admin \`${id.slice(0, 64)}\` does not exist`)
    if (target.disabledAt !== null) throw new WritError('ADMIN_REVOKED', `admin \`${id}\` is already revoked`)
    if (target.roles.includes('admin') && !active.some((a) => a.id !== id && a.roles.includes('admin'))) {
      throw new WritError('ADMIN_LAST_ACTIVE', `admin \`${id}\` is the last active credential with the \`admin\` role; create another (writ admin create --role admin) before revoking it`)
    }
    const now = clock.nowMs()
    if (!(await tx.admins.revoke(id, now, by.id))) throw new WritError('ADMIN_REVOKED', `admin \`${id}\` is already revoked`)
    await tx.audit.append([{
      type: 'admin.revoke',
      actor: { kind: 'admin', id: by.id },
      data: { admin_id: id, name: target.name, roles: target.roles },
    }], now)
    return { ...target, disabledAt: now, disabledBy: by.id }
  })
}
