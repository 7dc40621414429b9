/**
 * writeIssuances(): what one group-commit batch writes, in the caller's transaction. It runs on the event loop
 * (PostgreSQL, SQLite :memory:) or on the commit thread (SQLite file, issuance-worker.ts), which loads only this file
 * and the statements it calls.
 */
import type { AuditEvent } from '../audit/audit-record.js'
import type { Grant } from '../delegation/grant.js'
import type { Approval } from '../oversight/approval.js'
import type { IssuanceRepositories } from '../storage/storage.js'
import type { IssuedTokenRow } from '../storage/token-repository.js'
import type { SshCertificateRow } from '../storage/ssh-certificate-repository.js'

export interface IssuanceEntry {
  /** The authenticated assertion to consume (single use), if the request got that far. */
  assertion?: { clientId: string; jti: string; expiresAtMs: number; reusable?: boolean; dpop?: { jkt: string; jti: string; expiresAtMs: number } }
  /** The agent whose status and version the decision relied on. */
  agent?: { id: string; version: number }
  /** The token to record if every check passes. */
  token?: IssuedTokenRow
  /** A held request to store (human oversight). */
  hold?: Approval
  /** The approval this token spends: it must still be approved and unexpired, and is used up with the commit. */
  spendApproval?: { authReqId: string }
  /**
   * Delegated authority the outcome relies on: every grant of the chain must still be unrevoked and every agent of it
   * active, read in this transaction, so a revocation or suspension that committed first wins (the cascade).
   */
  delegation?: { grants: string[]; agents: string[] }
  /** A delegation grant to store if every check passes (a grant issued at the token endpoint). */
  grant?: Grant
  /**
   * An SSH user certificate to record (ssh/issue-user-certificate.ts); `assertion` then spends its token's jti, so a
   * capability token buys one certificate, and its task must not be revoked.
   */
  sshCertificate?: SshCertificateRow
  /** Audit record of the outcome as decided before commit (issue, hold or denial); a pending poll records none. */
  audit?: AuditEvent
}

export type IssuanceOutcome =
  | 'committed' | 'assertion_replayed' | 'dpop_proof_replayed' | 'agent_not_active' | 'agent_changed' | 'approval_unavailable'
  | 'grant_revoked' | 'delegation_agent_not_active' | 'task_revoked'

/**
 * One batch inside the caller's transaction: spend the assertion jtis, re-check agent status, record tokens, holds
 * and approvals, and append the audit records. The same function runs on the event loop or on the commit thread.
 */
export async function writeIssuances(tx: IssuanceRepositories, entries: readonly IssuanceEntry[], now: number): Promise<IssuanceOutcome[]> {
  // A DPoP proof's jti is spent in the same store, under a key scoped by its key thumbprint (dpop-proof-check.ts).
  // A reusable external token (federation, a provider without singleUse) spends nothing of its own.
  const fresh = await tx.tokens.useAssertions(entries.flatMap((e) => !e.assertion ? [] : [
    ...(e.assertion.reusable ? [] : [{ client_id: e.assertion.clientId, jti: e.assertion.jti, expires_at: e.assertion.expiresAtMs }]),
    ...(e.assertion.dpop ? [{ client_id: proofKey(e.assertion.dpop), jti: e.assertion.dpop.jti, expires_at: e.assertion.dpop.expiresAtMs }] : []),
  ]))
  // The authoritative status check: read inside the transaction that issues, so a committed suspension wins.
  const statuses = await tx.agents.statuses([...new Set(entries.flatMap((e) => [
    ...((e.token || e.hold || e.grant) && e.agent ? [e.agent.id] : []), ...(e.delegation?.agents ?? []),
  ]))])
  const delegated = entries.flatMap((e) => e.delegation?.grants ?? [])
  const liveGrants = delegated.length > 0 ? await tx.grants.live([...new Set(delegated)]) : new Set<string>()
  // A revoked task never gets another token, hold or grant: one indexed lookup per batch, read in this transaction so
  // a revocation that committed first (on any replica) wins.
  const revokedTasks = await tx.revocations.revokedTasks([...new Set(entries.flatMap(taskOf))])
  const tokens: IssuedTokenRow[] = []
  const certificates: SshCertificateRow[] = []
  const events: AuditEvent[] = []
  const outcomes: IssuanceOutcome[] = []
  for (const entry of entries) {
    let outcome = judge(entry, fresh, statuses, liveGrants, revokedTasks)
    // Two uses of one jti in the same batch: the first consumes it, so the second is a replay.
    if (entry.assertion) fresh.delete(`${entry.assertion.clientId} ${entry.assertion.jti}`)
    if (entry.assertion?.dpop) fresh.delete(`${proofKey(entry.assertion.dpop)} ${entry.assertion.dpop.jti}`)
    if (outcome === 'committed' && entry.spendApproval && entry.token) {
      if (!(await tx.approvals.consume(entry.spendApproval.authReqId, entry.token.jti, now))) outcome = 'approval_unavailable'
    }
    if (outcome === 'committed') {
      if (entry.hold) await tx.approvals.insert(entry.hold)
      if (entry.grant) await tx.grants.insert(entry.grant)
      if (entry.token) tokens.push(entry.token)
      if (entry.sshCertificate) certificates.push(entry.sshCertificate)
      if (entry.audit) events.push(entry.audit)
    } else if (entry.audit) {
      events.push(denial(entry.audit, outcome))
    }
    outcomes.push(outcome)
  }
  await tx.tokens.recordIssued(tokens)
  if (certificates.length > 0) await tx.sshCertificates.insert(certificates)
  await tx.audit.append(events, now)
  return outcomes
}

function judge(
  entry: IssuanceEntry, fresh: Set<string>, statuses: Map<string, { status: string; version: number }>, liveGrants: Set<string>,
  revokedTasks: Set<string>,
): IssuanceOutcome {
  if (entry.assertion && !entry.assertion.reusable && !fresh.has(`${entry.assertion.clientId} ${entry.assertion.jti}`)) return 'assertion_replayed'
  if (entry.assertion?.dpop && !fresh.has(`${proofKey(entry.assertion.dpop)} ${entry.assertion.dpop.jti}`)) return 'dpop_proof_replayed'
  if ((entry.token || entry.hold || entry.grant) && entry.agent) {
    const current = statuses.get(entry.agent.id)
    if (!current || current.status !== 'active') return 'agent_not_active'
    if (current.version !== entry.agent.version) return 'agent_changed'
  }
  if (revokedTasks.size > 0 && taskOf(entry).some((id) => revokedTasks.has(id))) return 'task_revoked'
  if (entry.delegation) {
    if (!entry.delegation.grants.every((jti) => liveGrants.has(jti))) return 'grant_revoked'
    if (!entry.delegation.agents.every((id) => statuses.get(id)?.status === 'active')) return 'delegation_agent_not_active'
  }
  return 'committed'
}

/** The task ids an entry would issue something for: its token's, its held request's, its grant's. */
function taskOf(entry: IssuanceEntry): string[] {
  const ids: string[] = []
  if (entry.token) ids.push(entry.token.task_id)
  if (entry.hold) ids.push(entry.hold.request.task.id)
  if (entry.grant) ids.push(entry.grant.task.id)
  if (entry.sshCertificate?.task_id) ids.push(entry.sshCertificate.task_id)
  return ids
}

/** The decision made before commit is overturned: record the denial and why, and never the token id as issued. */
function denial(event: AuditEvent, outcome: Exclude<IssuanceOutcome, 'committed'>): AuditEvent {
  const { token: _token, ...rest } = event
  const type = event.type.startsWith('delegation.') ? 'delegation.deny' : event.type.startsWith('ssh_certificate.') ? 'ssh_certificate.deny' : 'token.deny'
  return { ...rest, type, decision: { effect: 'deny', reasons: [outcome] }, data: { ...rest.data, overturned: event.type } }
}

// INVARIANT: agent ids never start with `dpop:`, so a proof's key can never collide with an agent's assertion key.
function proofKey(dpop: { jkt: string }): string {
  return `dpop:${dpop.jkt}`
}
