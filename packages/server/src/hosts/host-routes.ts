/** HTTP adapters of hosts: the admin API (join tokens, list, show, labels, removal) and the public one (enroll, reports). */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { Context } from 'hono'
import { WritError } from '@writ/sdk'
import { requireRole } from '../admins/admin-credentials.js'
import type { AdminEnv } from '../http/admin-auth.js'
import { readJson } from '../http/read-json.js'
import type { RateLimits } from '../rate-limits/rate-limits.js'
import type { ResourceServerCache } from '../resource-servers/resource-server-cache.js'
import { recordActionReports } from './action-reports.js'
import type { HostAuthenticator } from './authenticate-host.js'
import { enrollHost, type EnrollDeps } from './enroll-host.js'
import type { HostDirectory } from './host-directory.js'
import { removeHost, requireHost, updateHostLabels, type HostRegistryDeps } from './host-registry.js'
import { hostAudience, type Host } from './host.js'
import { createJoinToken } from './join-tokens.js'

export interface HostCaches {
  directory: Pick<HostDirectory, 'refresh'>
  resourceServers: Pick<ResourceServerCache, 'refresh'>
}

export function hostAdminRoutes(deps: HostRegistryDeps & HostCaches): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()
  const refresh = async () => { await Promise.all([deps.directory.refresh(), deps.resourceServers.refresh()]) }

  app.post('/hosts/join-tokens', async (c) => {
    requireRole(c.get('admin'), 'admin')
    // no-store: the answer carries the join token, shown this once.
    return c.json(await createJoinToken(await readJson(c), c.get('admin'), deps), 201, { 'cache-control': 'no-store' })
  })

  app.get('/hosts', async (c) => c.json({ hosts: (await deps.storage.hosts.list()).map(view) }))

  app.get('/hosts/:id', async (c) => c.json(view(await requireHost(deps.storage, await resolveId(deps, c.req.param('id'))))))

  app.get('/hosts/:id/versions', async (c) => {
    const id = await resolveId(deps, c.req.param('id'))
    await requireHost(deps.storage, id)
    return c.json({ versions: await deps.storage.hosts.versions(id) })
  })

  app.patch('/hosts/:id/labels', async (c) => {
    requireRole(c.get('admin'), 'admin')
    const host = await updateHostLabels(await resolveId(deps, c.req.param('id')), await readJson(c), c.get('admin'), deps)
    await refresh()
    return c.json(view(host))
  })

  app.delete('/hosts/:id', async (c) => {
    requireRole(c.get('admin'), 'admin')
    const body = c.req.header('content-type') === undefined ? {} : await readJson(c) as { reason?: unknown }
    const reason = typeof body?.reason === 'string' ? body.reason : c.req.query('reason')
    const host = await removeHost(await resolveId(deps, c.req.param('id')), reason, c.get('admin'), deps)
    // This replica refuses the host's client and audience at once; the others within the refresh interval.
    await refresh()
    return c.json(view(host))
  })
  return app
}

export interface HostPublicRoutesDeps extends EnrollDeps, HostCaches {
  rateLimits: Pick<RateLimits, 'admitAddress'>
  remoteAddress: (c: Context) => string | undefined
  authenticate: HostAuthenticator
}

const ENROLL_BODY_LIMIT = 16 * 1024
const REPORTS_BODY_LIMIT = 1024 * 1024

export function hostPublicRoutes(deps: HostPublicRoutesDeps): Hono {
  const app = new Hono()
  const tooLarge = (limit: number) => () => { throw new WritError('REQUEST_TOO_LARGE', `the body exceeds ${limit} bytes`) }

  app.post('/hosts/enroll', bodyLimit({ maxSize: ENROLL_BODY_LIMIT, onError: tooLarge(ENROLL_BODY_LIMIT) }), async (c) => {
    // DOS-01: unauthenticated, so the address's bucket comes before the body is read.
    deps.rateLimits.admitAddress(deps.remoteAddress(c))
    const enrolled = await enrollHost(await readJson(c), deps)
    await Promise.all([deps.directory.refresh(), deps.resourceServers.refresh()])
    return c.json(enrolled, 201, { 'cache-control': 'no-store' })
  })

  app.post('/hosts/actions', bodyLimit({ maxSize: REPORTS_BODY_LIMIT, onError: tooLarge(REPORTS_BODY_LIMIT) }), async (c) => {
    const host = await deps.authenticate(c.req.header('authorization'))
    return c.json(await recordActionReports(host, await readJson(c), deps))
  })
  return app
}

/** What the API shows of a host: everything but nothing secret (it holds none); the audience spelled out. */
function view(host: Host): Host & { audience: string } {
  return { ...host, audience: hostAudience(host.name) }
}

/** Addressed by id or, for people at a terminal, by the unique name. */
async function resolveId(deps: HostRegistryDeps, idOrName: string): Promise<string> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(idOrName)) return idOrName
  const host = await deps.storage.hosts.findByName(idOrName)
  if (!host) throw new WritError('HOST_NOT_FOUND', `host \`${idOrName.slice(0, 128)}\` does not exist`)
  return host.id
}
