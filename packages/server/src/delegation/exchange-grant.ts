/**
 * exchangeGrant(): RFC 8693 token exchange of a delegation grant for one capability token. The agent in the grant's
 * `may_act` authenticates as usual, names one `writ_action` the grant covers, and the request then takes exactly
 * the client_credentials path (boundary, Cedar with the human and the chain, human oversight, group commit), with
 * `sub` = the grant's subject, `act` = the chain with this agent outermost and `parent` = the grant's jti.
 */
import { WritError, type WritAction } from '@writ/sdk'
import type { Agent } from '../agents/agent-document.js'
import type { CapabilityRequest } from '../tokens/capability.js'
import type { ClientAuthenticationInput } from '../tokens/client-authentication.js'
import { commitOrThrow, type Assertion, type IssuedCapability } from '../tokens/issue-token.js'
import { authenticate, decideAndIssue, parseSpendingAssertion, type MintDeps } from '../tokens/mint.js'
import { coveringEntry } from './attenuation.js'
import { actorsOf, type Grant } from './grant.js'
import { grantBindingRefusal } from './grant-binding.js'

export interface ExchangeDeps {
  mint: MintDeps
  /** Verifies a presented grant and returns its stored record (verify-grant.ts). */
  verifyGrant: (token: string) => Promise<Grant>
}

export interface CapabilityExchange {
  subjectToken: string
  action: WritAction
  task: { id?: string; step?: string; purpose?: string }
  audience: string
}

export async function exchangeGrant(
  client: ClientAuthenticationInput, parse: () => CapabilityExchange, sourceIp: string | undefined, deps: ExchangeDeps,
): Promise<IssuedCapability> {
  const { agent, assertion, federation } = await authenticate(client, deps.mint)
  const exchange = await parseSpendingAssertion(parse, agent.id, assertion, deps.mint)
  const grant = await presentedGrant(exchange.subjectToken, agent, assertion, deps)
  const refuse = (error: WritError) => refuseExchange(error, agent, assertion, deps.mint, { grant: grant.jti })

  // TX-08: only the agent the grant names may use it; holding the JWT is not enough.
  if (grant.mayAct !== agent.id) return refuse(new WritError('GRANT_INVALID', 'the delegation grant names another agent', { reasons: ['may_act_mismatch'] }))
  const unbound = grantBindingRefusal(grant, assertion)
  if (unbound !== undefined) return refuse(unbound)
  if (exchange.task.id !== undefined && exchange.task.id !== grant.task.id) {
    return refuse(new WritError('GRANT_SCOPE_EXCEEDED', 'the delegation grant is for another task', { reasons: ['task_mismatch'] }))
  }
  const covered = coveringEntry(grant.details, exchange.action)
  if (!covered.covered) {
    return refuse(new WritError('GRANT_SCOPE_EXCEEDED', `the delegation grant does not cover \`${exchange.action.action}\` on \`${exchange.action.resource}\``, { reasons: [`widened:${covered.reason}`] }))
  }
  const task: CapabilityRequest['task'] = { id: grant.task.id }
  if (exchange.task.step !== undefined) task.step = exchange.task.step
  const purpose = exchange.task.purpose ?? grant.task.purpose
  if (purpose !== undefined) task.purpose = purpose
  const request: CapabilityRequest = {
    action: exchange.action, task, audience: exchange.audience,
    delegation: {
      grant: grant.jti, grants: [...grant.ancestors, grant.jti], subject: grant.subject,
      ...(grant.human ? { human: grant.human } : {}), ...(grant.act ? { act: grant.act } : {}),
      agents: actorsOf(grant.act), depth: grant.depth, notAfter: Math.floor(grant.expiresAt / 1000),
    },
  }
  return decideAndIssue(agent, request, assertion, sourceIp, deps.mint, federation ? { federation } : undefined)
}

/** The verified grant, or the refusal committed (assertion spent, reason audited) and thrown. */
export async function presentedGrant(token: string, agent: Agent, assertion: Assertion, deps: ExchangeDeps): Promise<Grant> {
  try {
    return await deps.verifyGrant(token)
  } catch (error) {
    if (!(error instanceof WritError)) throw error
    return refuseExchange(error, agent, assertion, deps.mint)
  }
}

export async function refuseExchange(error: WritError, agent: Agent, assertion: Assertion, deps: MintDeps, data?: Record<string, unknown>): Promise<never> {
  await commitOrThrow(deps.log, {
    assertion,
    audit: {
      type: 'token.deny', actor: { kind: 'agent', id: agent.id },
      decision: { effect: 'deny', reasons: error.reasons.length > 0 ? [...error.reasons] : [error.code.toLowerCase()] },
      data: { grant_type: 'token-exchange', ...data },
    },
  })
  throw error
}
