/** Signs a capability token and makes it durable with its audit record; shared by the direct and approved paths. */
import { TOKEN_TYPES, WritError, type CapabilityClaims } from '@writ/sdk'
import type { Agent } from '../agents/agent-document.js'
import type { AuditEvent } from '../audit/audit-record.js'
import type { Clock } from '../clock.js'
import type { KeyManager } from '../keys/key-manager.js'
import type { Decision } from '../policy/policy-engine.js'
import { capabilityClaims, type CapabilityRequest } from './capability.js'
import type { IssuanceEntry, IssuanceLog, IssuanceOutcome } from './issuance-log.js'
import type { DpopBinding } from './dpop-proof-check.js'

export interface IssueDeps {
  keys: KeyManager
  log: IssuanceLog
  clock: Clock
  issuer: string
  ttlSeconds: number
}

export interface IssuedCapability {
  token: string
  claims: CapabilityClaims
}

export interface Assertion {
  clientId: string
  jti: string
  expiresAtMs: number
  /** The request's verified DPoP proof: the token is bound to its key, and its jti is spent with the assertion's. */
  dpop?: DpopBinding
  /** A reusable external token (a trust provider without singleUse): nothing is spent for it, only its DPoP proof. */
  reusable?: boolean
}

export async function issueToken(
  agent: Agent, request: CapabilityRequest, decision: Decision, assertion: Assertion, context: DecisionContext, deps: IssueDeps,
  extra: { spendApproval?: { authReqId: string }; data?: Record<string, unknown> } = {},
): Promise<IssuedCapability> {
  const claims = capabilityClaims(agent, request, deps.issuer, deps.clock.nowMs(), deps.ttlSeconds)
  // RFC 9449 §6: a proof at the token endpoint binds the token to its key.
  if (assertion.dpop !== undefined) claims.cnf = { jkt: assertion.dpop.jkt }
  const { jws, kid } = deps.keys.sign(TOKEN_TYPES.capability, claims as unknown as Record<string, unknown>)
  // The signature is computed while the audit record commits: the record needs only the claims and the key id. The
  // token leaves only once both are done, so a failed commit still sends nothing (Promise.all also observes a failed
  // signature, which then answers 500 after an issue record for a token that never existed outside this process).
  const [token] = await Promise.all([jws, commitOrThrow(deps.log, {
    assertion,
    agent: { id: agent.id, version: agent.version },
    token: {
      jti: claims.jti, agent_id: agent.id, task_id: request.task.id, action: request.action.action,
      resource: request.action.resource, audience: request.audience, issued_at: claims.iat * 1000, expires_at: claims.exp * 1000,
      parent_jti: request.delegation?.grant ?? null,
    },
    ...(request.delegation ? { delegation: { grants: request.delegation.grants, agents: request.delegation.agents } } : {}),
    ...(extra.spendApproval ? { spendApproval: extra.spendApproval } : {}),
    audit: decisionRecord('token.issue', agent, request, decision, context, {
      token: { jti: claims.jti, exp: claims.exp },
      data: { aud: request.audience, kid, ...(claims.cnf ? { cnf_jkt: claims.cnf.jkt } : {}), ...extra.data },
    }),
  })])
  return { token, claims }
}

/** What the decision saw besides the request: recorded so `writ policy test --against-audit` can replay it. */
export interface DecisionContext {
  timeMs: number
  sourceIp?: string
  policyVersion?: number
}

export function decisionRecord(
  type: string, agent: Agent, request: CapabilityRequest, decision: Decision, context: DecisionContext,
  more: Partial<AuditEvent> = {},
): AuditEvent {
  const task: NonNullable<AuditEvent['task']> = { id: request.task.id }
  if (request.task.step !== undefined) task.step = request.task.step
  const delegation = request.delegation
  return {
    type,
    actor: { kind: 'agent', id: agent.id },
    ...(delegation ? { on_behalf_of: delegation.subject } : {}),
    task,
    action: request.action.action,
    resource: request.action.resource,
    decision: { effect: decision.effect, reasons: decision.reasons },
    ...more,
    data: {
      policies: decision.policies,
      // Replay inputs: the agent version (its document is kept), the time, the peer and the free-text purpose.
      policy_context: {
        agent_version: agent.version,
        effect: decision.effect,
        time_ms: context.timeMs,
        ...(context.sourceIp ? { source_ip: context.sourceIp } : {}),
        ...(request.task.purpose ? { task_purpose: request.task.purpose } : {}),
        ...(request.action.parameters ? { parameters: request.action.parameters } : {}),
        ...(request.action.actions ? { access_type: request.action.actions[0] } : {}),
        ...(context.policyVersion !== undefined ? { policy_version: context.policyVersion } : {}),
        audience: request.audience,
      },
      // Every hop is named: the grant spent (the token's parent), the agents before this one and the depth.
      ...(delegation ? { delegation: { parent: delegation.grant, chain: delegation.agents, depth: delegation.depth } } : {}),
      ...more.data,
    },
  }
}

export async function commitOrThrow(log: IssuanceLog, entry: IssuanceEntry): Promise<void> {
  const outcome: IssuanceOutcome = await log.commit(entry)
  switch (outcome) {
    case 'committed': return
    case 'assertion_replayed': throw new WritError('CLIENT_ASSERTION_REPLAYED', 'the client assertion was already used', { reasons: [outcome] })
    case 'agent_not_active': throw new WritError('AGENT_NOT_ACTIVE', 'the agent is not active', { reasons: [outcome] })
    case 'agent_changed': throw new WritError('AGENT_NOT_ACTIVE', 'the agent changed while the request was decided; retry', { reasons: [outcome] })
    case 'approval_unavailable': throw new WritError('APPROVAL_NOT_FOUND', 'the approval was already used or has expired', { reasons: [outcome] })
    case 'dpop_proof_replayed': throw new WritError('DPOP_PROOF_INVALID', 'the DPoP proof was already used', { reasons: [outcome] })
    case 'grant_revoked': throw new WritError('GRANT_REVOKED', 'a delegation grant of the chain is revoked', { reasons: [outcome] })
    case 'task_revoked': throw new WritError('TASK_REVOKED', 'the task is revoked; nothing more is issued for it', { reasons: [outcome] })
    case 'delegation_agent_not_active': throw new WritError('AGENT_NOT_ACTIVE', 'an agent of the delegation chain is not active', { reasons: [outcome] })
  }
}
