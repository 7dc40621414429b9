/**
 * Revocations: revoke a token, task, grant (and its subtree), agent (the kill switch) or signing key. One revocation is
 * one transaction: what it changes (grants marked, the agent suspended), one `revocation.create` audit record, and
 * its events with ids allocated after that append. Then the feed hears of it (and, on PostgreSQL, every replica).
 */
import { LIFETIMES, WritError, type RevocationEvent } from '@writ/sdk'
import type { AuditEvent } from '../audit/audit-record.js'
import { applyStatusChange } from '../agents/agent-registry.js'
import type { Clock } from '../clock.js'
import type { Grant } from '../delegation/grant.js'
import type { KeyManager } from '../keys/key-manager.js'
import type { Repositories, Storage } from '../storage/storage.js'
import { timeOrderedId } from '../tokens/token-id.js'
import { MAX_REASON_LENGTH, targetValue, type Revocation, type RevocationActor, type RevocationTarget, type StoredRevocationEvent } from './revocation.js'

export interface RevocationsDeps {
  storage: Storage
  keys: KeyManager
  clock: Clock
  issuer: string
  /** Agents whose cached status must be dropped at once (the token endpoint's read cache). */
  agentCache?: { invalidate(id: string): void }
  /** Told after each commit, with the events it stored: the in-process feed reads and broadcasts them. */
  committed?: (events: readonly StoredRevocationEvent[]) => void
}

export interface RevocationResult {
  revocation: Revocation
  events: StoredRevocationEvent[]
}

// What a verifier may still accept after a token's `exp` (its leeway), and the longest lifetime any verifier accepts:
// an event is kept until nothing it covers can verify anywhere, whatever `tokens.ttlSeconds` is today.
const LEEWAY_SECONDS = LIFETIMES.maxLeeway
const LONGEST_TOKEN_SECONDS = LIFETIMES.capabilityMax + LIFETIMES.maxLeeway

/** What a revocation changed and emits, worked out inside its transaction. */
interface Plan {
  covers: Record<string, unknown>
  events: RevocationEvent[]
  audit?: Pick<AuditEvent, 'task' | 'token' | 'on_behalf_of'>
}

export class Revocations {
  constructor(private readonly deps: RevocationsDeps) {}

  async revoke(target: RevocationTarget, actor: RevocationActor, reason: string): Promise<RevocationResult> {
    const value = targetValue(target)
    if (value.length === 0 || value.length > 512) throw new WritError('REQUEST_INVALID', `the ${target.kind} to revoke must be 1 to 512 characters`)
    const trimmed = reason.trim()
    if (trimmed.length === 0 || trimmed.length > MAX_REASON_LENGTH) {
      throw new WritError('REQUEST_INVALID', `a revocation needs a reason of 1 to ${MAX_REASON_LENGTH} characters`, { reasons: ['reason_invalid'] })
    }
    // Only an admin stops a task, an agent or a key; agents and resource servers revoke tokens and grants (RFC 7009).
    if (actor.kind !== 'admin' && (target.kind === 'task' || target.kind === 'agent' || target.kind === 'key')) {
      throw new WritError('ADMIN_FORBIDDEN', `revoking a ${target.kind} needs an admin`, { reasons: ['role_required:admin'] })
    }
    const { storage, clock, keys } = this.deps
    let rotatedTo: string | undefined
    if (target.kind === 'key') {
      const key = keys.list().find((k) => k.kid === target.kid)
      if (key === undefined) throw new WritError('SIGNING_KEY_NOT_FOUND', `no signing key has the id \`${target.kid.slice(0, 64)}\``)
      if (key.revokedAt !== null) throw new WritError('REQUEST_INVALID', `signing key \`${target.kid.slice(0, 64)}\` is already revoked`, { reasons: ['key_revoked'] })
      // The current key is replaced first, so signing never stops and the revoked key never signs again.
      if (keys.current().kid === target.kid) rotatedTo = (await keys.rotate()).kid
    }
    const nowMs = clock.nowMs()
    const revokedAt = Math.floor(nowMs / 1000)
    const id = timeOrderedId(nowMs)
    const result = await storage.transaction(async (tx) => {
      const plan = await this.plan(tx, target, actor, revokedAt, nowMs, rotatedTo)
      const forgetAfter = Math.max(revokedAt, ...plan.events.map((e) => e.forget_after))
      const revocation: Revocation = {
        id, kind: target.kind, target: value, covers: plan.covers, reason: trimmed, actor, revokedAt: nowMs, forgetAfter: forgetAfter * 1000,
      }
      await tx.audit.append([{
        type: 'revocation.create',
        actor: { kind: actor.kind, id: actor.id },
        ...plan.audit,
        data: { revocation_id: id, kind: target.kind, target: value, reason: trimmed, covers: plan.covers },
      }], nowMs)
      // After the append, whose lock orders writers: see RevocationRepository.appendEvents.
      const events = await tx.revocations.appendEvents(id, plan.events)
      await tx.revocations.insert(revocation)
      const last = events.at(-1)
      if (last !== undefined) await tx.revocations.announce(last.eventId)
      return { revocation, events }
    })
    if (target.kind === 'key') keys.revoke(target.kid)
    if (target.kind === 'agent') this.deps.agentCache?.invalidate(target.agentId)
    this.deps.committed?.(result.events)
    return result
  }

  private async plan(
    tx: Repositories, target: RevocationTarget, actor: RevocationActor, revokedAt: number, nowMs: number, rotatedTo: string | undefined,
  ): Promise<Plan> {
    const iss = this.deps.issuer
    const until = revokedAt + LONGEST_TOKEN_SECONDS
    switch (target.kind) {
      case 'token': {
        // Unknown jtis are revoked too (a token from before a restore, or one the caller only knows by id).
        const issued = await tx.tokens.findIssued(target.jti)
        const exp = issued ? Math.floor(Number(issued.expires_at) / 1000) : undefined
        return {
          covers: issued ? { jti: target.jti, agent_id: issued.agent_id, task_id: issued.task_id, exp } : { jti: target.jti, known: false },
          events: [{ kind: 'token', iss, jti: target.jti, revoked_at: revokedAt, forget_after: exp === undefined ? until : exp + LEEWAY_SECONDS }],
          audit: { token: { jti: target.jti, exp: exp ?? until }, ...(issued ? { task: { id: issued.task_id } } : {}) },
        }
      }
      case 'task':
        return {
          covers: { task_id: target.taskId },
          events: [{ kind: 'task', iss, task_id: target.taskId, revoked_at: revokedAt, forget_after: until }],
          audit: { task: { id: target.taskId } },
        }
      case 'grant': {
        const grant = await tx.grants.find(target.jti)
        if (!grant) throw new WritError('GRANT_NOT_FOUND', `grant \`${target.jti.slice(0, 64)}\` does not exist`)
        const revokedBy = `${actor.kind}:${actor.id}`
        if (!(await tx.grants.revoke(grant.jti, revokedBy, nowMs))) {
          throw new WritError('GRANT_REVOKED', `grant \`${target.jti.slice(0, 64)}\` is already revoked`, { reasons: ['grant_revoked'] })
        }
        // The cascade: exchanges already refuse a grant with a revoked ancestor; marking the subtree makes listings say
        // so, and one event per grant lets verifiers reject every token minted from any grant of it (`parent`).
        const subtree = [grant, ...(await tx.grants.descendants(grant))].filter((g) => g.expiresAt > nowMs)
        for (const g of subtree.slice(1)) if (g.revokedAt === null) await tx.grants.revoke(g.jti, revokedBy, nowMs)
        return {
          covers: { grant: grant.jti, kind: grant.kind, delegate: grant.mayAct, descendants: subtree.slice(1).map((g) => g.jti) },
          events: subtree.map((g) => delegationEvent(g, iss, revokedAt)),
          audit: { task: { id: grant.task.id }, on_behalf_of: grant.subject, token: { jti: grant.jti, exp: Math.floor(grant.expiresAt / 1000) } },
        }
      }
      case 'agent': {
        const agent = await tx.agents.find(target.agentId)
        if (!agent) throw new WritError('AGENT_NOT_FOUND', `agent \`${target.agentId.slice(0, 128)}\` does not exist`)
        // Suspended in this transaction, so the issuing transaction's status check refuses from the commit on.
        const suspended = agent.status === 'active'
        if (suspended) await applyStatusChange(tx, agent, 'suspend', { id: actor.id }, this.deps.clock)
        const grants = await tx.grants.liveInvolving(agent.id, nowMs)
        for (const g of grants) await tx.grants.revoke(g.jti, `${actor.kind}:${actor.id}`, nowMs)
        return {
          covers: { agent_id: agent.id, suspended, status_before: agent.status, grants: grants.map((g) => g.jti) },
          events: [{ kind: 'agent', iss, agent_id: agent.id, revoked_at: revokedAt, forget_after: until }],
        }
      }
      case 'key':
        return {
          covers: { kid: target.kid, ...(rotatedTo ? { rotated_to: rotatedTo } : {}) },
          events: [{ kind: 'key', iss, kid: target.kid, revoked_at: revokedAt, forget_after: until }],
        }
    }
  }
}

/** A token never outlives the grant it came from (tokens/capability.ts), so the grant's `exp` bounds the event. */
function delegationEvent(grant: Grant, iss: string, revokedAt: number): RevocationEvent {
  return { kind: 'delegation', iss, jti: grant.jti, revoked_at: revokedAt, forget_after: Math.floor(grant.expiresAt / 1000) + LEEWAY_SECONDS }
}
