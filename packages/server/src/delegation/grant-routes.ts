/** Admin HTTP adapter of delegation grants: create a mandate (JWT shown once), list, show with what derives from it, revoke. */
import { Hono } from 'hono'
import { WritError } from '@writ/sdk'
import { requireRole } from '../admins/admin-credentials.js'
import type { AdminEnv } from '../http/admin-auth.js'
import { readJson } from '../http/read-json.js'
import type { Grant, GrantKind } from './grant.js'
import { createMandate, revokeGrant, type MandateDeps } from './mandates.js'

/** One grant as the admin API shows it: never the JWT, which only its creation returns. */
export interface GrantView {
  jti: string
  kind: GrantKind
  subject: string
  may_act: string
  act: string[]
  depth: number
  authorization_details: Grant['details']
  task: Grant['task']
  parent: string | null
  root: string
  created_by: string
  created_at: string
  expires_at: string
  revoked_at: string | null
  revoked_by: string | null
}

const KINDS = new Set<GrantKind>(['mandate', 'human', 'delegation'])

export function grantRoutes(deps: MandateDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()
  app.post('/grants', async (c) => {
    const created = await createMandate(await readJson(c), c.get('admin'), deps)
    return c.json({ ...grantView(created.grant), grant: created.token }, 201, { 'cache-control': 'no-store' })
  })
  app.get('/grants', async (c) => {
    requireRole(c.get('admin'), 'auditor')
    const kind = c.req.query('kind')
    if (kind !== undefined && !KINDS.has(kind as GrantKind)) throw new WritError('REQUEST_INVALID', 'kind is one of mandate, human, delegation')
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 100) || 100, 1), 1_000)
    const grants = await deps.storage.grants.list({
      ...(kind ? { kind: kind as GrantKind } : {}),
      ...(c.req.query('agent') ? { mayAct: c.req.query('agent') as string } : {}),
      ...(c.req.query('human') ? { subject: c.req.query('human') as string } : {}),
      limit,
    })
    return c.json({ grants: grants.map(grantView) })
  })
  app.get('/grants/:jti', async (c) => {
    requireRole(c.get('admin'), 'auditor')
    const grant = await deps.storage.grants.find(c.req.param('jti'))
    if (!grant) throw new WritError('GRANT_NOT_FOUND', `grant \`${c.req.param('jti').slice(0, 64)}\` does not exist`)
    // What derives from it: the same root, with this grant among the ancestors.
    const tree = await deps.storage.grants.list({ root: grant.rootJti, limit: 1_000 })
    const derived = tree.filter((g) => g.ancestors.includes(grant.jti))
    return c.json({ ...grantView(grant), derived: derived.map(grantView) })
  })
  app.post('/grants/:jti/revoke', async (c) => c.json(grantView(await revokeGrant(c.req.param('jti'), c.get('admin'), deps))))
  return app
}

export function grantView(grant: Grant): GrantView {
  const actors: string[] = []
  for (let node = grant.act; node !== undefined; node = node.act) actors.push(node.sub)
  return {
    jti: grant.jti, kind: grant.kind, subject: grant.subject, may_act: grant.mayAct, act: actors, depth: grant.depth,
    authorization_details: grant.details, task: grant.task, parent: grant.parentJti, root: grant.rootJti,
    created_by: grant.createdBy, created_at: iso(grant.createdAt), expires_at: iso(grant.expiresAt),
    revoked_at: grant.revokedAt === null ? null : iso(grant.revokedAt), revoked_by: grant.revokedBy,
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
