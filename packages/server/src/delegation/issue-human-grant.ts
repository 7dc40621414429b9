/**
 * issueHumanGrant(): a verified human delegates actions to an agent, and the answer is a root grant (`sub` = the
 * human, `may_act` = the agent). Shared by the RFC 8693 exchange of a human's token (exchange-human-token.ts) and by
 * federation's ID-JAG grant: whoever verified the human calls this. For each entry, the agent's boundary applies and
 * Cedar decides with `context.delegating` = true, `context.human` = the human (with groups) and depth 1: the same
 * policies that govern the action govern who may delegate it (docs/policy.md, "Delegation").
 */
import { WritError, type WritAction } from '@writ/sdk'
import type { Agent } from '../agents/agent-document.js'
import type { Config } from '../config/schema.js'
import type { FederationEvidence } from '../tokens/client-authentication.js'
import type { Assertion } from '../tokens/issue-token.js'
import type { MintDeps } from '../tokens/mint.js'
import type { HumanIdentity } from './human-token-verifier.js'
import { newGrant } from './grant.js'
import { issueGrant, type IssuedGrant } from './issue-grant.js'
import { refuseExchange } from './exchange-grant.js'

export interface HumanGrantDeps {
  mint: Pick<MintDeps, 'policy' | 'keys' | 'log' | 'clock' | 'issuer'>
  settings: Pick<Config['delegation'], 'grantTtlSeconds'>
}

export interface HumanGrantRequest {
  /** The human, as a HumanTokenVerifier (or federation's ID-JAG check) established them. */
  identity: HumanIdentity
  /** The authenticated agent the human delegates to: the grant's `may_act`. */
  agent: Agent
  details: WritAction[]
  task: { id: string; step?: string; purpose?: string }
  /** Requested lifetime in seconds; at most `delegation.grantTtlSeconds`, the default. */
  expiresIn?: number
  /** The agent's spent client assertion, committed with the outcome. */
  assertion: Assertion
  sourceIp?: string
  /** How the human was verified, for the audit record (`id_token`, `jwt`, `id-jag`). */
  via: string
  /** The external token that authenticated the agent, when it used one (federation/): named in the audit record. */
  federation?: FederationEvidence
}

export async function issueHumanGrant(request: HumanGrantRequest, deps: HumanGrantDeps): Promise<IssuedGrant> {
  const { identity, agent, assertion } = request
  const refuse = (error: WritError) => refuseExchange(error, agent, assertion, deps.mint as MintDeps, {
    requested: 'grant', human: identity.user, issuer: identity.issuer, ...(identity.jti ? { external_jti: identity.jti } : {}),
  })
  if (request.expiresIn !== undefined && request.expiresIn > deps.settings.grantTtlSeconds) {
    return refuse(new WritError('GRANT_SCOPE_EXCEEDED', `a grant from a human token lasts at most ${deps.settings.grantTtlSeconds} s`, { reasons: ['widened:expiry'] }))
  }
  const now = deps.mint.clock.nowMs()
  const reasons: string[] = []
  const policies = new Set<string>()
  for (const detail of request.details) {
    const decision = deps.mint.policy.decide({
      agent, action: detail.action, resource: detail.resource, parameters: detail.parameters,
      ...(detail.actions ? { accessType: detail.actions[0] } : {}),
      task: request.task, timeMs: now, ...(request.sourceIp ? { sourceIp: request.sourceIp } : {}),
      human: { id: identity.user, groups: identity.groups }, delegationDepth: 1, delegating: true,
      // A grant is addressed to Writ itself; the audience of the tokens it will yield is decided when they are asked for.
      audience: deps.mint.issuer,
    })
    for (const id of decision.policies) policies.add(id)
    // A hold is for the action itself: human oversight applies when the agent asks for the capability, not now.
    if (decision.effect === 'deny') reasons.push(...decision.reasons.map((r) => `${detail.action}:${r}`))
  }
  if (reasons.length > 0) {
    return refuse(new WritError('POLICY_DENIED', `policy does not let \`${identity.user.slice(0, 128)}\` delegate this to agent \`${agent.id}\``, { reasons }))
  }
  const grant = newGrant({
    subject: identity.user, human: { groups: identity.groups }, mayAct: agent.id, act: undefined, details: request.details,
    task: request.task, kind: 'human', createdBy: `human:${identity.user}`, nowMs: now,
    expiresAt: now + (request.expiresIn ?? deps.settings.grantTtlSeconds) * 1000,
  })
  return issueGrant(grant, { assertion, agent: { id: agent.id, version: agent.version } }, {
    type: 'delegation.create',
    actor: { kind: 'agent', id: agent.id },
    on_behalf_of: identity.user,
    task: { id: grant.task.id },
    decision: { effect: 'allow', reasons: [...policies].map((id) => `policy_permit:${id}`) },
    data: {
      kind: 'human', delegator: identity.user, delegate: agent.id, depth: 1, via: request.via, issuer: identity.issuer,
      ...(identity.jti ? { external_jti: identity.jti } : {}), groups: identity.groups, authorization_details: grant.details,
      ...(request.sourceIp ? { source_ip: request.sourceIp } : {}), ...(request.federation ? { federation: request.federation } : {}),
    },
  }, deps.mint)
}
