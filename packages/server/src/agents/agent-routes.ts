/** Admin HTTP adapter of the agent registry. */
import { Hono } from 'hono'
import { WritError } from '@writ/sdk'
import type { AdminEnv } from '../http/admin-auth.js'
import { readJson } from '../http/read-json.js'
import { requireRole } from '../admins/admin-credentials.js'
import type { AgentCache } from './agent-cache.js'
import { changeAgentStatus, registerAgent, requireAgent, updateAgent, type RegistryDeps, type StatusChange } from './agent-registry.js'

export function agentRoutes(deps: RegistryDeps & { cache: AgentCache }): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()

  app.get('/agents', async (c) => c.json({ agents: await deps.storage.agents.list() }))

  app.post('/agents', async (c) => {
    requireRole(c.get('admin'), 'admin')
    return c.json(await registerAgent(await readJson(c), c.get('admin'), deps), 201)
  })

  app.get('/agents/:id', async (c) => c.json(await requireAgent(deps.storage, await resolveId(deps, c.req.param('id')))))

  app.put('/agents/:id', async (c) => {
    requireRole(c.get('admin'), 'admin')
    const id = await resolveId(deps, c.req.param('id'))
    const agent = await updateAgent(id, await readJson(c), c.get('admin'), deps)
    deps.cache.invalidate(id)
    return c.json(agent)
  })

  app.get('/agents/:id/versions', async (c) => {
    const id = await resolveId(deps, c.req.param('id'))
    await requireAgent(deps.storage, id)
    return c.json({ versions: await deps.storage.agents.versions(id) })
  })

  for (const change of ['suspend', 'resume', 'retire'] as const satisfies StatusChange[]) {
    app.post(`/agents/:id/${change}`, async (c) => {
      requireRole(c.get('admin'), 'admin')
      const id = await resolveId(deps, c.req.param('id'))
      const agent = await changeAgentStatus(id, change, c.get('admin'), deps)
      deps.cache.invalidate(id)
      return c.json(agent)
    })
  }
  return app
}

/** Agents are addressed by id or, for people at a terminal, by their unique name. */
async function resolveId(deps: RegistryDeps, idOrName: string): Promise<string> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(idOrName)) return idOrName
  const agent = await deps.storage.agents.findByName(idOrName)
  if (!agent) throw new WritError('AGENT_NOT_FOUND', `agent \`${idOrName.slice(0, 128)}\` does not exist`)
  return agent.id
}
