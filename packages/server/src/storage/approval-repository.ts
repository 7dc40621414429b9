/** SQL for human approvals: every state change is a conditional update, so a decision or a use happens once. */
import type { Kysely } from 'kysely'
import type { Approval, ApprovalStatus, BoundRequest } from '../oversight/approval.js'
import type { Database } from './tables.js'

export class ApprovalRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(approval: Approval): Promise<void> {
    await this.db.insertInto('approvals').values(approvalRow(approval)).execute()
  }

  async find(authReqId: string): Promise<Approval | undefined> {
    const row = await this.db.selectFrom('approvals').selectAll().where('auth_req_id', '=', authReqId).executeTakeFirst()
    return row && toApproval(row)
  }

  async list(filter: { status?: ApprovalStatus; agentId?: string; limit: number }): Promise<Approval[]> {
    let query = this.db.selectFrom('approvals').selectAll()
    if (filter.status) query = query.where('status', '=', filter.status)
    if (filter.agentId) query = query.where('agent_id', '=', filter.agentId)
    const rows = await query.orderBy('created_at', 'desc').limit(filter.limit).execute()
    return rows.map(toApproval)
  }

  /** Open holds of one agent: the approval queue is capped per agent against floods. */
  async countOpen(agentId: string, nowMs: number): Promise<number> {
    const row = await this.db.selectFrom('approvals').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('agent_id', '=', agentId).where('status', '=', 'pending').where('expires_at', '>', nowMs).executeTakeFirstOrThrow()
    return Number(row.n)
  }

  async recordPoll(authReqId: string, nowMs: number, intervalSeconds: number): Promise<void> {
    await this.db.updateTable('approvals').set({ last_poll_at: nowMs, interval_seconds: intervalSeconds })
      .where('auth_req_id', '=', authReqId).execute()
  }

  /** pending → approved | denied, only before expiry; false when someone else decided first or it expired. */
  async decide(authReqId: string, status: 'approved' | 'denied', decidedBy: string, nowMs: number, note: string | null): Promise<boolean> {
    const result = await this.db.updateTable('approvals')
      .set({ status, decided_by: decidedBy, decided_at: nowMs, decision_note: note })
      .where('auth_req_id', '=', authReqId).where('status', '=', 'pending').where('expires_at', '>', nowMs)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  /** approved → consumed: an approval buys exactly one token. */
  async consume(authReqId: string, jti: string, nowMs: number): Promise<boolean> {
    const result = await this.db.updateTable('approvals').set({ status: 'consumed', token_jti: jti })
      .where('auth_req_id', '=', authReqId).where('status', '=', 'approved').where('expires_at', '>', nowMs)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }
}

/** The stored row of an approval (also written by the commit thread's prepared statements). */
export function approvalRow(approval: Approval): Database['approvals'] {
  return {
    auth_req_id: approval.authReqId, agent_id: approval.agentId, request: JSON.stringify(approval.request),
    binding: approval.binding, status: approval.status, approvers: JSON.stringify(approval.approvers),
    reasons: JSON.stringify(approval.reasons), created_at: approval.createdAt, expires_at: approval.expiresAt,
    interval_seconds: approval.intervalSeconds, last_poll_at: approval.lastPollAt, decided_by: approval.decidedBy,
    decided_at: approval.decidedAt, decision_note: approval.decisionNote, token_jti: approval.tokenJti,
  }
}

function toApproval(row: Database['approvals']): Approval {
  return {
    authReqId: row.auth_req_id, agentId: row.agent_id, request: JSON.parse(row.request) as BoundRequest, binding: row.binding,
    status: row.status as ApprovalStatus, approvers: JSON.parse(row.approvers) as string[], reasons: JSON.parse(row.reasons) as string[],
    createdAt: Number(row.created_at), expiresAt: Number(row.expires_at), intervalSeconds: row.interval_seconds,
    lastPollAt: row.last_poll_at === null ? null : Number(row.last_poll_at), decidedBy: row.decided_by,
    decidedAt: row.decided_at === null ? null : Number(row.decided_at), decisionNote: row.decision_note, tokenJti: row.token_jti,
  }
}
