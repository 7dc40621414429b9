/** A held capability request waiting for a human, bound to the exact request it approves. */
import { createHash } from 'node:crypto'
import type { WritAction } from '@writ/sdk'
import { canonicalJson } from '../audit/audit-record.js'
import type { DelegationContext } from '../tokens/capability.js'

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'consumed'

/** The request an approval is for: a token is only ever minted from this, never from what a poll sends. */
export interface BoundRequest {
  action: WritAction
  task: { id: string; step?: string; purpose?: string }
  audience: string
  /** The delegated authority the request was made under, so the approved token carries the same chain. */
  delegation?: DelegationContext
}

export interface Approval {
  authReqId: string
  agentId: string
  request: BoundRequest
  /** SHA-256 over the canonical agent id + request: what an approver approves, shown to them and audited. */
  binding: string
  status: ApprovalStatus
  /** Roles or named humans who may decide, from the identity document. */
  approvers: string[]
  /** Why it was held (policy and oversight reasons). */
  reasons: string[]
  createdAt: number
  expiresAt: number
  intervalSeconds: number
  lastPollAt: number | null
  decidedBy: string | null
  decidedAt: number | null
  decisionNote: string | null
  tokenJti: string | null
}

export function approvalBinding(agentId: string, request: BoundRequest): string {
  return createHash('sha256').update(canonicalJson({ agent_id: agentId, ...request })).digest('hex')
}

/** The state a caller sees: a pending or approved request past its expiry is expired, whatever the row says. */
export function effectiveStatus(approval: Approval, nowMs: number): ApprovalStatus | 'expired' {
  if ((approval.status === 'pending' || approval.status === 'approved') && approval.expiresAt <= nowMs) return 'expired'
  return approval.status
}

/** The admin API's view of an approval (no secrets are held in one). */
export function approvalView(approval: Approval, nowMs: number): Record<string, unknown> {
  return {
    auth_req_id: approval.authReqId,
    agent_id: approval.agentId,
    status: effectiveStatus(approval, nowMs),
    action: approval.request.action.action,
    resource: approval.request.action.resource,
    parameters: approval.request.action.parameters,
    task: approval.request.task,
    audience: approval.request.audience,
    // An approver must see whose authority the agent uses and through whom, not only which agent asks.
    ...(approval.request.delegation ? {
      on_behalf_of: approval.request.delegation.subject,
      delegation: { grant: approval.request.delegation.grant, chain: approval.request.delegation.agents, depth: approval.request.delegation.depth },
    } : {}),
    binding: approval.binding,
    approvers: approval.approvers,
    reasons: approval.reasons,
    created_at: new Date(approval.createdAt).toISOString(),
    expires_at: new Date(approval.expiresAt).toISOString(),
    decided_by: approval.decidedBy,
    decided_at: approval.decidedAt === null ? null : new Date(approval.decidedAt).toISOString(),
    decision_note: approval.decisionNote,
    token_jti: approval.tokenJti,
  }
}
