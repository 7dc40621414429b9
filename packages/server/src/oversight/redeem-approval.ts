/**
 * The CIBA poll (grant `urn:openid:params:grant-type:ciba`): the agent that was held asks again with its auth_req_id and
 * gets authorization_pending, slow_down, access_denied, expired_token, or — once a human approved — its one token.
 */
import { WritError } from '@writ/sdk'
import { canonicalJson } from '../audit/audit-record.js'
import type { CapabilityRequest } from '../tokens/capability.js'
import { commitOrThrow, decisionRecord, issueToken, type IssuedCapability } from '../tokens/issue-token.js'
import { authenticate, parseSpendingAssertion, policyRequest, type MintDeps } from '../tokens/mint.js'
import type { ClientAuthenticationInput } from '../tokens/client-authentication.js'
import type { WritAction } from '@writ/sdk'
import { effectiveStatus } from './approval.js'
import { pendingError } from './hold-request.js'
import { targetHostOf, withHostParameters } from '../hosts/host-mint-rules.js'

// CIBA §11: each slow_down adds 5 seconds to the interval the client must keep.
const SLOW_DOWN_STEP_SECONDS = 5

export async function redeemApproval(
  client: ClientAuthenticationInput, parse: () => { authReqId: string; action?: WritAction }, sourceIp: string | undefined, deps: MintDeps,
): Promise<IssuedCapability> {
  const { agent, assertion, federation } = await authenticate(client, deps)
  const poll = await parseSpendingAssertion(parse, agent.id, assertion, deps)
  const now = deps.clock.nowMs()
  const approval = await deps.hold.approvals.find(poll.authReqId)
  const refuse = async (error: WritError, audit: boolean): Promise<never> => {
    await commitOrThrow(deps.log, {
      assertion,
      ...(audit ? { audit: { type: 'approval.redeem_fail', actor: { kind: 'agent' as const, id: agent.id }, decision: { effect: 'deny' as const, reasons: [...error.reasons] }, data: { auth_req_id: poll.authReqId.slice(0, 64) } } } : {}),
    })
    throw error
  }
  // Another agent's auth_req_id is answered exactly like an unknown one.
  if (!approval || approval.agentId !== agent.id) {
    return refuse(new WritError('APPROVAL_NOT_FOUND', 'no such approval request for this agent', { reasons: ['approval_unknown'] }), true)
  }
  // The approval covers one exact request; a poll that names another one cannot ride on it.
  if (poll.action && canonicalJson(poll.action) !== canonicalJson(approval.request.action)) {
    return refuse(new WritError('APPROVAL_NOT_FOUND', 'the approval was granted for a different request', { reasons: ['request_mismatch'] }), true)
  }
  switch (effectiveStatus(approval, now)) {
    case 'pending': {
      const tooSoon = approval.lastPollAt !== null && now - approval.lastPollAt < approval.intervalSeconds * 1000
      const interval = tooSoon ? approval.intervalSeconds + SLOW_DOWN_STEP_SECONDS : approval.intervalSeconds
      await deps.hold.approvals.recordPoll(approval.authReqId, now, interval)
      if (tooSoon) {
        return refuse(new WritError('APPROVAL_SLOW_DOWN', `poll at most every ${interval} s`, { reasons: ['slow_down'], extra: { interval } }), false)
      }
      return refuse(pendingError({ ...approval, intervalSeconds: interval }, now, approval.reasons), false)
    }
    case 'denied':
      return refuse(new WritError('APPROVAL_DENIED', 'a human denied the request', { reasons: ['approval_denied'] }), true)
    case 'expired':
      return refuse(new WritError('APPROVAL_EXPIRED', 'the approval request expired', { reasons: ['approval_expired'] }), true)
    case 'consumed':
      return refuse(new WritError('APPROVAL_NOT_FOUND', 'the approval was already used', { reasons: ['approval_used'] }), true)
    case 'approved':
      break
  }

  // Approved: decide again on the bound request, so a forbid pushed meanwhile, or a suspension, still wins.
  const request: CapabilityRequest = {
    action: approval.request.action, task: approval.request.task, audience: approval.request.audience,
    ...(approval.request.delegation ? { delegation: approval.request.delegation } : {}),
  }
  const decision = deps.policy.decide(policyRequest(agent, request, now, sourceIp, deps.audiences?.resourceServerName(request.audience), targetHostOf(request.action.resource, deps.hosts)))
  const context = { timeMs: now, ...(sourceIp ? { sourceIp } : {}), ...(deps.policy.version ? { policyVersion: deps.policy.version() } : {}) }
  if (decision.effect === 'deny') {
    await commitOrThrow(deps.log, { assertion, audit: decisionRecord('token.deny', agent, request, decision, context, { data: { auth_req_id: approval.authReqId } }) })
    throw new WritError('APPROVAL_DENIED', 'policy now denies the approved request', { reasons: decision.reasons })
  }
  const issued = await withHostParameters(agent, request, decision, assertion, context, deps, { auth_req_id: approval.authReqId })
  return issueToken(agent, issued, { ...decision, effect: 'allow' }, assertion, context, deps, {
    spendApproval: { authReqId: approval.authReqId },
    data: { auth_req_id: approval.authReqId, approved_by: approval.decidedBy, binding: approval.binding, ...(federation ? { federation } : {}) },
  })
}
