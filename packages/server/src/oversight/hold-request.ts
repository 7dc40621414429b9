/** Puts a capability request on hold for a human: stores the bound request, audits it, tells approvers, answers pending. */
import { randomBytes } from 'node:crypto'
import { WritError } from '@writ/sdk'
import type { Agent } from '../agents/agent-document.js'
import type { Clock } from '../clock.js'
import type { Decision } from '../policy/policy-engine.js'
import type { ApprovalRepository } from '../storage/approval-repository.js'
import type { CapabilityRequest } from '../tokens/capability.js'
import { commitOrThrow, decisionRecord, type Assertion, type DecisionContext } from '../tokens/issue-token.js'
import type { IssuanceLog } from '../tokens/issuance-log.js'
import { approvalBinding, type Approval } from './approval.js'

export interface OversightSettings {
  approvalTtlSeconds: number
  pollIntervalSeconds: number
  maxPendingPerAgent: number
  forbidOwnerApproval: boolean
}

export interface HoldDeps {
  approvals: ApprovalRepository
  log: IssuanceLog
  clock: Clock
  settings: OversightSettings
  /** Tells approvers (webhook); never blocks or fails the request. */
  notify: (approval: Approval, agent: Agent) => void
}

// When a policy holds a request for an agent whose document names no approvers, holders of this role decide.
export const DEFAULT_APPROVER_ROLE = 'approver'

export async function holdRequest(
  agent: Agent, request: CapabilityRequest, decision: Decision, assertion: Assertion, context: DecisionContext, deps: HoldDeps,
): Promise<never> {
  const now = deps.clock.nowMs()
  // T10 approval-queue flood: a hostile agent cannot bury approvers in requests.
  if ((await deps.approvals.countOpen(agent.id, now)) >= deps.settings.maxPendingPerAgent) {
    await commitOrThrow(deps.log, {
      assertion,
      audit: decisionRecord('token.deny', agent, request, decision, context, { decision: { effect: 'deny', reasons: ['approval_queue_full'] } }),
    })
    throw new WritError('RATE_LIMITED', `agent \`${agent.id}\` has ${deps.settings.maxPendingPerAgent} requests waiting for approval`, {
      reasons: ['approval_queue_full'], extra: { retry_after: deps.settings.pollIntervalSeconds },
    })
  }
  const bound = { action: request.action, task: request.task, audience: request.audience, ...(request.delegation ? { delegation: request.delegation } : {}) }
  const approval: Approval = {
    // Hex, not base64url: one base64url id in 64 starts with '-', and a command line reads that as an option
    // (`writ approvals deny -MS0…`). 160 bits is the entropy OpenID CIBA §7.3 recommends for auth_req_id.
    authReqId: randomBytes(20).toString('hex'),
    agentId: agent.id,
    request: bound,
    binding: approvalBinding(agent.id, bound),
    status: 'pending',
    approvers: agent.document.human_oversight.approvers.length > 0 ? [...agent.document.human_oversight.approvers] : [DEFAULT_APPROVER_ROLE],
    reasons: decision.reasons,
    createdAt: now,
    expiresAt: now + deps.settings.approvalTtlSeconds * 1000,
    intervalSeconds: deps.settings.pollIntervalSeconds,
    lastPollAt: null,
    decidedBy: null,
    decidedAt: null,
    decisionNote: null,
    tokenJti: null,
  }
  await commitOrThrow(deps.log, {
    assertion,
    agent: { id: agent.id, version: agent.version },
    hold: approval,
    audit: decisionRecord('approval.request', agent, request, decision, context, {
      data: { auth_req_id: approval.authReqId, binding: approval.binding, approvers: approval.approvers, expires_at: new Date(approval.expiresAt).toISOString() },
    }),
  })
  deps.notify(approval, agent)
  throw pendingError(approval, now, decision.reasons)
}

export function pendingError(approval: Approval, nowMs: number, reasons: readonly string[]): WritError {
  return new WritError('APPROVAL_PENDING', 'the request waits for a human approval', {
    reasons,
    extra: {
      auth_req_id: approval.authReqId,
      expires_in: Math.max(0, Math.ceil((approval.expiresAt - nowMs) / 1000)),
      interval: approval.intervalSeconds,
    },
  })
}
