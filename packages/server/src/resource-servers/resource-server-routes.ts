/** Admin HTTP adapter of the resource server registry. */
import { Hono } from 'hono'
import { WritError } from '@writ/sdk'
import { requireRole } from '../admins/admin-credentials.js'
import type { AdminEnv } from '../http/admin-auth.js'
import { readJson } from '../http/read-json.js'
import type { ResourceServerCache } from './resource-server-cache.js'
import {
  registerResourceServer, removeResourceServer, requireResourceServer, updateResourceServer, type ResourceServerRegistryDeps,
} from './resource-server-registry.js'

export function resourceServerRoutes(deps: ResourceServerRegistryDeps & { cache: Pick<ResourceServerCache, 'refresh'> }): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()

  app.get('/resource-servers', async (c) => c.json({ resource_servers: await deps.storage.resourceServers.list() }))

  app.post('/resource-servers', async (c) => {
    requireRole(c.get('admin'), 'admin')
    const server = await registerResourceServer(await readJson(c), c.get('admin'), deps)
    // This replica accepts the new audience and credential at once; the others within the refresh interval.
    await deps.cache.refresh()
    return c.json(server, 201)
  })

  app.get('/resource-servers/:id', async (c) => c.json(await requireResourceServer(deps.storage, await resolveId(deps, c.req.param('id')))))

  app.get('/resource-servers/:id/versions', async (c) => {
    const id = await resolveId(deps, c.req.param('id'))
    await requireResourceServer(deps.storage, id)
    return c.json({ versions: await deps.storage.resourceServers.versions(id) })
  })

  app.put('/resource-servers/:id', async (c) => {
    requireRole(c.get('admin'), 'admin')
    const server = await updateResourceServer(await resolveId(deps, c.req.param('id')), await readJson(c), c.get('admin'), deps)
    await deps.cache.refresh()
    return c.json(server)
  })

  app.delete('/resource-servers/:id', async (c) => {
    requireRole(c.get('admin'), 'admin')
    const server = await removeResourceServer(await resolveId(deps, c.req.param('id')), c.get('admin'), deps)
    await deps.cache.refresh()
    return c.json(server)
  })
  return app
}

/** Addressed by id or, for people at a terminal, by the unique name. */
async function resolveId(deps: ResourceServerRegistryDeps, idOrName: string): Promise<string> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(idOrName)) return idOrName
  const server = await deps.storage.resourceServers.findByName(idOrName)
  if (!server) throw new WritError('RESOURCE_SERVER_NOT_FOUND', `resource server \`${idOrName.slice(0, 128)}\` does not exist`)
  return server.id
}
