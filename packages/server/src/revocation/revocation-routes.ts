/** Admin HTTP adapter of revocations: revoke a token, task, grant, agent (the kill switch) or key; list what was revoked. */
import { Hono } from 'hono'
import { z } from 'zod'
import { WritError } from '@writ/sdk'
import { requireRole } from '../admins/admin-credentials.js'
import type { AdminEnv } from '../http/admin-auth.js'
import { readJson } from '../http/read-json.js'
import type { Storage } from '../storage/storage.js'
import { MAX_REASON_LENGTH, REVOCATION_TARGET_KINDS, type Revocation, type RevocationTarget, type StoredRevocationEvent } from './revocation.js'
import type { Revocations } from './revocations.js'

const id = z.string().min(1).max(512).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
const reason = z.string().trim().min(1).max(MAX_REASON_LENGTH)

export const revocationRequestSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('token'), jti: id, reason }),
  z.strictObject({ kind: z.literal('task'), task_id: id, reason }),
  z.strictObject({ kind: z.literal('grant'), jti: id, reason }),
  z.strictObject({ kind: z.literal('agent'), agent_id: id, reason }),
  z.strictObject({ kind: z.literal('key'), kid: id, reason }),
])

/** A revocation as the admin API shows it. */
export interface RevocationView {
  id: string
  kind: Revocation['kind']
  target: string
  covers: Record<string, unknown>
  reason: string
  actor: Revocation['actor']
  revoked_at: string
  forget_after: string
}

export function revocationRoutes(deps: { revocations: Revocations; storage: Storage }): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()

  app.post('/revocations', async (c) => {
    const admin = c.get('admin')
    // The roles that may suspend an agent may revoke.
    requireRole(admin, 'admin')
    const parsed = revocationRequestSchema.safeParse(await readJson(c))
    if (!parsed.success) {
      const reasons = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
      throw new WritError('REQUEST_INVALID', `invalid revocation: ${reasons.join('; ')}`, { reasons })
    }
    const target = await toTarget(parsed.data, deps.storage)
    const result = await deps.revocations.revoke(target, { kind: 'admin', id: admin.id }, parsed.data.reason)
    return c.json({ revocation: revocationView(result.revocation), events: result.events.map(eventView) }, 201)
  })

  app.get('/revocations', async (c) => {
    requireRole(c.get('admin'), 'auditor')
    const kind = c.req.query('kind')
    if (kind !== undefined && !(REVOCATION_TARGET_KINDS as readonly string[]).includes(kind)) {
      throw new WritError('REQUEST_INVALID', `kind is one of ${REVOCATION_TARGET_KINDS.join(', ')}`)
    }
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 100) || 100, 1), 1_000)
    const before = c.req.query('before')
    const list = await deps.storage.revocations.list({
      limit, ...(kind ? { kind: kind as Revocation['kind'] } : {}), ...(before ? { before } : {}),
    })
    return c.json({ revocations: list.map(revocationView) })
  })

  return app
}

/** Agents are named by id or, at a terminal, by their unique name (as the agent routes accept). */
async function toTarget(body: z.infer<typeof revocationRequestSchema>, storage: Storage): Promise<RevocationTarget> {
  switch (body.kind) {
    case 'token': return { kind: 'token', jti: body.jti }
    case 'task': return { kind: 'task', taskId: body.task_id }
    case 'grant': return { kind: 'grant', jti: body.jti }
    case 'key': return { kind: 'key', kid: body.kid }
    case 'agent': {
      const agent = (await storage.agents.find(body.agent_id)) ?? (await storage.agents.findByName(body.agent_id))
      if (!agent) throw new WritError('AGENT_NOT_FOUND', `agent \`${body.agent_id.slice(0, 128)}\` does not exist`)
      return { kind: 'agent', agentId: agent.id }
    }
  }
}

export function revocationView(r: Revocation): RevocationView {
  return {
    id: r.id, kind: r.kind, target: r.target, covers: r.covers, reason: r.reason, actor: r.actor,
    revoked_at: new Date(r.revokedAt).toISOString(), forget_after: new Date(r.forgetAfter).toISOString(),
  }
}

export function eventView({ eventId, event }: StoredRevocationEvent): Record<string, unknown> {
  return { id: eventId, ...event }
}
