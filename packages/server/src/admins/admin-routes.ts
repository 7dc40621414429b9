/** Admin HTTP adapter for admin credentials: who am I, create one with roles (shown once), list them, revoke one. */
import { Hono } from 'hono'
import { z } from 'zod'
import { WritError } from '@writ/sdk'
import type { AdminEnv } from '../http/admin-auth.js'
import { readJson } from '../http/read-json.js'
import type { Clock } from '../clock.js'
import type { AdminRecord } from '../storage/admin-repository.js'
import type { Storage } from '../storage/storage.js'
import { createAdmin, requireRole } from './admin-credentials.js'
import { revokeAdmin } from './revoke-admin.js'

const createSchema = z.strictObject({
  name: z.string().min(1).max(254).regex(/^[A-Za-z0-9._@+-]+$/),
  roles: z.array(z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9._@-]*$/, 'lowercase letters, digits and . _ @ - only')).min(1).max(8),
})

export interface AdminCredentialRoutesDeps {
  storage: Storage
  clock: Clock
  /** Where agents reach the public API; `writ login` stores it with the admin address. */
  publicUrl: string
}

/** One credential as `GET /v1/admins` lists it (never the hash). */
export interface AdminView {
  id: string
  name: string
  roles: string[]
  created_at: string
  /** To the minute (LAST_USED_RESOLUTION_MS); null when never used. */
  last_used_at: string | null
  revoked_at: string | null
  revoked_by: string | null
}

export function adminRoutes(deps: AdminCredentialRoutesDeps): Hono<AdminEnv> {
  const { storage, clock } = deps
  const app = new Hono<AdminEnv>()
  app.get('/whoami', (c) => c.json({ ...c.get('admin'), public_url: deps.publicUrl }))
  app.post('/admins', async (c) => {
    requireRole(c.get('admin'), 'admin')
    const parsed = createSchema.safeParse(await readJson(c))
    if (!parsed.success) {
      const reasons = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
      throw new WritError('REQUEST_INVALID', `invalid admin: ${reasons.join('; ')}`, { reasons })
    }
    const created = await createAdmin(parsed.data.name, parsed.data.roles, c.get('admin'), storage, clock)
      .catch((error: unknown) => {
        if (/unique|duplicate/i.test(String((error as Error).message))) throw new WritError('REQUEST_INVALID', `admin \`${parsed.data.name}\` exists`)
        throw error
      })
    return c.json({ ...created.admin, credential: created.credential }, 201, { 'cache-control': 'no-store' })
  })
  // Auditors may see who holds access; changing it needs `admin`.
  app.get('/admins', async (c) => {
    requireRole(c.get('admin'), 'auditor')
    return c.json({ admins: (await storage.admins.list()).map(adminView) })
  })
  app.post('/admins/:id/revoke', async (c) => {
    requireRole(c.get('admin'), 'admin')
    return c.json(adminView(await revokeAdmin(c.req.param('id'), c.get('admin'), storage, clock)))
  })
  return app
}

export function adminView(record: AdminRecord): AdminView {
  return {
    id: record.id, name: record.name, roles: record.roles,
    created_at: iso(record.createdAt), last_used_at: record.lastUsedAt === null ? null : iso(record.lastUsedAt),
    revoked_at: record.disabledAt === null ? null : iso(record.disabledAt), revoked_by: record.disabledBy,
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
