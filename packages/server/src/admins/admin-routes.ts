/** Admin HTTP adapter for admin credentials: create one with roles; the credential is in the response only. */
import { Hono } from 'hono'
import { z } from 'zod'
import { WritError } from '@writ/sdk'
import type { AdminEnv } from '../http/admin-auth.js'
import { readJson } from '../http/read-json.js'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'
import { createAdmin, requireRole } from './admin-credentials.js'

const createSchema = z.strictObject({
  name: z.string().min(1).max(254).regex(/^[A-Za-z0-9._@+-]+$/),
  roles: z.array(z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9._@-]*$/, 'lowercase letters, digits and . _ @ - only')).min(1).max(8),
})

export function adminRoutes(storage: Storage, clock: Clock): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()
  app.get('/whoami', (c) => c.json(c.get('admin')))
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
  return app
}
