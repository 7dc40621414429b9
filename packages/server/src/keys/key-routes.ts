/** Admin HTTP adapter of the signing keys: list and rotate (audited). */
import { Hono } from 'hono'
import type { AdminEnv } from '../http/admin-auth.js'
import { requireRole } from '../admins/admin-credentials.js'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'
import type { KeyManager } from './key-manager.js'

export function keyRoutes(keys: KeyManager, storage: Storage, clock: Clock): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()
  app.get('/keys', (c) => c.json({ current: keys.current().kid, keys: keys.list() }))
  app.post('/keys/rotate', async (c) => {
    const admin = c.get('admin')
    requireRole(admin, 'admin')
    const previous = keys.current().kid
    // Audit first: if the record cannot be written the rotation does not happen (fail closed).
    await storage.transaction((tx) => tx.audit.append([{
      type: 'key.rotate', actor: { kind: 'admin', id: admin.id }, data: { previous_kid: previous },
    }], clock.nowMs()))
    const next = await keys.rotate()
    return c.json({ previous, current: next.kid, keys: keys.list() })
  })
  return app
}
