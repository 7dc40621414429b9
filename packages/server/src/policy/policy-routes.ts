/** Admin HTTP adapter of policy sets: list, show, validate, push (audited), what-if replay, schema. */
import { Hono } from 'hono'
import { z } from 'zod'
import { WritError } from '@writ/sdk'
import type { AdminEnv } from '../http/admin-auth.js'
import { readJson } from '../http/read-json.js'
import { requireRole } from '../admins/admin-credentials.js'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'
import type { StoredPolicySet } from '../storage/policy-set-repository.js'
import { declaredActions, type ActivePolicy } from './active-policy.js'
import { cedarSchemaText } from './cedar-schema.js'
import { whatIf } from './what-if.js'

const filesSchema = z.record(z.string().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, 'a plain file name'), z.string().max(512 * 1024))
  .refine((files) => Object.keys(files).length > 0 && Object.keys(files).length <= 200, 'between 1 and 200 files')
const pushSchema = z.strictObject({ files: filesSchema, comment: z.string().max(500).optional() })
const validateSchema = z.strictObject({ files: filesSchema })
const whatIfSchema = z.strictObject({ files: filesSchema, since: z.string().min(1).max(40) })

export function policyRoutes(active: ActivePolicy, storage: Storage, clock: Clock): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()

  app.get('/policies', async (c) => c.json({
    active: active.version(),
    sets: (await storage.policySets.list()).map((s) => ({ version: s.version, hash: s.hash, created_by: s.createdBy, created_at: new Date(s.createdAt).toISOString(), comment: s.comment })),
  }))

  app.get('/policies/schema', async (c) => c.json({ schema: cedarSchemaText(await declaredActions(storage)) }))

  app.get('/policies/:version', async (c) => {
    const raw = c.req.param('version')
    if (raw !== 'active' && !/^\d{1,9}$/.test(raw)) throw new WritError('REQUEST_INVALID', 'version must be a number or `active`')
    const set = raw === 'active' ? active.active() : await storage.policySets.find(Number(raw))
    if (!set) throw new WritError('POLICY_SET_NOT_FOUND', `policy set version \`${raw}\` does not exist`)
    return c.json({ ...view(set), policies: (await active.validate(set.files)).policies })
  })

  app.post('/policies/validate', async (c) => {
    const { files } = parse(validateSchema, await readJson(c))
    return c.json(await active.validate(files))
  })

  app.post('/policies', async (c) => {
    requireRole(c.get('admin'), 'admin')
    const body = parse(pushSchema, await readJson(c))
    const { set, warnings } = await active.push(body.files, body.comment ?? '', c.get('admin'))
    return c.json({ ...view(set), policies: (await active.validate(set.files)).policies, warnings }, 201)
  })

  app.post('/policies/what-if', async (c) => {
    const body = parse(whatIfSchema, await readJson(c))
    const candidate = await active.compile(body.files)
    try {
      return c.json(await whatIf(candidate, sinceMs(body.since, clock.nowMs()), storage))
    } finally {
      candidate.dispose()
    }
  })
  return app
}

/** `24h`, `30m`, `7d`, `90s`, or an ISO timestamp. */
export function sinceMs(value: string, nowMs: number): number {
  const relative = /^(\d{1,6})([smhd])$/.exec(value)
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd']
    return nowMs - Number(relative[1]) * unit
  }
  const absolute = Date.parse(value)
  if (Number.isNaN(absolute)) throw new WritError('REQUEST_INVALID', '`since` must be like 24h, 30m, 7d or an ISO timestamp')
  return absolute
}

function view(set: StoredPolicySet) {
  return { version: set.version, files: set.files, hash: set.hash, created_by: set.createdBy, created_at: new Date(set.createdAt).toISOString(), comment: set.comment }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value)
  if (!result.success) {
    const reasons = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    throw new WritError('REQUEST_INVALID', `invalid request: ${reasons.join('; ')}`, { reasons })
  }
  return result.data
}
