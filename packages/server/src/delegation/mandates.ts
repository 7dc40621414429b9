/**
 * Mandates: standing delegation grants created through the admin API without a live human token. An admin, or a
 * human on their own behalf (an admin credential whose name is that human), names the agent, the actions and the
 * task; the grant's JWT is returned once and it is an ordinary grant in every other respect. Revocation covers every
 * grant, and cascades: a grant is usable only while every grant it derives from is unrevoked.
 */
import { z } from 'zod'
import { WritError, type GrantClaims } from '@writ/sdk'
import type { AdminIdentity } from '../admins/admin-identity.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import type { KeyManager } from '../keys/key-manager.js'
import type { Storage } from '../storage/storage.js'
import type { Revocations } from '../revocation/revocations.js'
import { taskSchema, writActionSchema } from '../tokens/capability.js'
import { newGrant, type Grant } from './grant.js'
import { signGrant } from './sign-grant.js'

export interface MandateDeps {
  storage: Storage
  keys: KeyManager
  clock: Clock
  issuer: string
  settings: Config['delegation']
  /** Grant revocation goes through the one revocation path (audit record, subtree, events to verifiers). */
  revocations: Revocations
}

// A grant rides in a form field and must stay under the verifiers' 8 KiB token cap.
export const MAX_GRANT_DETAILS = 16

export const mandateSchema = z.strictObject({
  human: z.string().min(1).max(254).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
  agent: z.string().min(1).max(128),
  authorization_details: z.array(writActionSchema).min(1).max(MAX_GRANT_DETAILS),
  task: taskSchema,
  /** Lifetime from now; the configured default when absent. */
  expires_in: z.number().int().min(60).optional(),
})

export async function createMandate(input: unknown, admin: AdminIdentity, deps: MandateDeps): Promise<{ grant: Grant; token: string; claims: GrantClaims }> {
  const parsed = mandateSchema.safeParse(input)
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    throw new WritError('REQUEST_INVALID', `invalid mandate: ${reasons.join('; ')}`, { reasons })
  }
  const request = parsed.data
  // An admin may mandate for anyone; any other credential only for the human it names (on their own behalf).
  if (!admin.roles.includes('admin') && admin.name !== request.human) {
    throw new WritError('ADMIN_FORBIDDEN', 'a mandate needs the `admin` role, or a credential named after the human it is for', { reasons: ['role_required:admin'] })
  }
  const agent = (await deps.storage.agents.find(request.agent)) ?? (await deps.storage.agents.findByName(request.agent))
  if (!agent) throw new WritError('AGENT_NOT_FOUND', `agent \`${request.agent.slice(0, 128)}\` does not exist`)
  if (agent.status !== 'active') throw new WritError('AGENT_NOT_ACTIVE', `agent \`${agent.id}\` is ${agent.status}`)
  const declared = new Set(agent.document.capabilities.map((c) => c.id))
  const undeclared = request.authorization_details.filter((d) => !declared.has(d.action)).map((d) => `capability_not_declared:${d.action}`)
  if (undeclared.length > 0) throw new WritError('AUTHORIZATION_DETAILS_INVALID', 'the agent does not declare every action of the mandate', { reasons: undeclared })
  const lifetime = request.expires_in ?? deps.settings.grantTtlSeconds
  if (lifetime > deps.settings.maxGrantSeconds) {
    throw new WritError('REQUEST_INVALID', `a mandate may last at most ${deps.settings.maxGrantSeconds} s`, { reasons: ['lifetime_too_long'] })
  }
  const now = deps.clock.nowMs()
  const grant = newGrant({
    subject: request.human, human: { groups: [] }, mayAct: agent.id, act: undefined,
    details: request.authorization_details as Grant['details'], task: stripUndefined(request.task),
    kind: 'mandate', createdBy: `admin:${admin.id}`, nowMs: now, expiresAt: now + lifetime * 1000,
  })
  const signing = signGrant(grant, deps.keys, deps.issuer)
  // The signature is computed while the row and its record commit; the JWT leaves only once both are done.
  const [token] = await Promise.all([signing.jws, deps.storage.transaction(async (tx) => {
    // Read in this transaction, as the token endpoint does: a task revoked before it commits gets no new grant.
    if ((await tx.revocations.revokedTasks([grant.task.id])).size > 0) {
      throw new WritError('TASK_REVOKED', `task \`${grant.task.id.slice(0, 128)}\` is revoked; nothing more is issued for it`, { reasons: ['task_revoked'] })
    }
    await tx.grants.insert(grant)
    await tx.audit.append([{
      type: 'delegation.create',
      actor: { kind: 'admin', id: admin.id },
      on_behalf_of: grant.subject,
      task: { id: grant.task.id },
      decision: { effect: 'allow', reasons: ['mandate'] },
      token: { jti: grant.jti, exp: signing.claims.exp },
      data: { kind: 'mandate', delegator: grant.subject, delegate: agent.id, depth: grant.depth, authorization_details: grant.details, kid: signing.kid },
    }], now)
  })])
  return { grant, token, claims: signing.claims }
}

export async function revokeGrant(
  jti: string, admin: AdminIdentity, deps: Pick<MandateDeps, 'storage' | 'revocations'>, reason = 'revoked through the grant API',
): Promise<Grant> {
  const grant = await deps.storage.grants.find(jti)
  if (!grant) throw new WritError('GRANT_NOT_FOUND', `grant \`${jti.slice(0, 64)}\` does not exist`)
  if (!admin.roles.includes('admin') && admin.name !== grant.subject) {
    throw new WritError('ADMIN_FORBIDDEN', 'revoking a grant needs the `admin` role, or a credential named after its human', { reasons: ['role_required:admin'] })
  }
  await deps.revocations.revoke({ kind: 'grant', jti }, { kind: 'admin', id: admin.id }, reason)
  return (await deps.storage.grants.find(jti)) as Grant
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
