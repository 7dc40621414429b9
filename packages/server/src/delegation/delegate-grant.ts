/**
 * delegateGrant(): RFC 8693 token exchange of a grant for a narrower grant for another agent (a sub-agent). The agent
 * in the grant's `may_act` authenticates as usual and names the sub-agent with the `audience` parameter (its id or
 * registered name). Attenuation is enforced at this hop: every entry covered by the parent's, expiry no later, depth
 * within `delegation.maxDepth`, and no agent twice in a chain. The child's `act` nests the parent's, outermost = the
 * delegating agent.
 */
import { isDeepStrictEqual } from 'node:util'
import { WritError, type WritAction } from '@writ/sdk'
import type { AgentCache } from '../agents/agent-cache.js'
import type { ClientAuthenticationInput } from '../tokens/client-authentication.js'
import { authenticate, parseSpendingAssertion } from '../tokens/mint.js'
import { coveringEntry } from './attenuation.js'
import { presentedGrant, refuseExchange, type ExchangeDeps } from './exchange-grant.js'
import { actorsOf, nestActor, newGrant, type Grant } from './grant.js'
import { issueGrant, type IssuedGrant } from './issue-grant.js'
import { grantBindingRefusal } from './grant-binding.js'

export interface DelegateDeps extends ExchangeDeps {
  agents: Pick<AgentCache, 'get' | 'getByName'>
  maxDepth: number
}

export interface GrantDelegation {
  subjectToken: string
  /** The sub-agent, by id or registered name (RFC 8693 `audience`). */
  audience: string
  /** The entries delegated; the parent's when the request names none. */
  details: WritAction[] | undefined
  taskId: string | undefined
  /** Requested lifetime from now; never past the parent's expiry. */
  expiresIn: number | undefined
}

export async function delegateGrant(
  client: ClientAuthenticationInput, parse: () => GrantDelegation, sourceIp: string | undefined, deps: DelegateDeps,
): Promise<IssuedGrant> {
  const { agent, assertion } = await authenticate(client, deps.mint)
  const request = await parseSpendingAssertion(parse, agent.id, assertion, deps.mint)
  const parent = await presentedGrant(request.subjectToken, agent, assertion, deps)
  const refuse = (code: ConstructorParameters<typeof WritError>[0], detail: string, reason: string) =>
    refuseExchange(new WritError(code, detail, { reasons: [reason] }), agent, assertion, deps.mint, { grant: parent.jti, requested: 'grant' })

  if (parent.mayAct !== agent.id) return refuse('GRANT_INVALID', 'the delegation grant names another agent', 'may_act_mismatch')
  const unbound = grantBindingRefusal(parent, assertion)
  if (unbound !== undefined) return refuseExchange(unbound, agent, assertion, deps.mint, { grant: parent.jti, requested: 'grant' })
  if (request.taskId !== undefined && request.taskId !== parent.task.id) return refuse('GRANT_SCOPE_EXCEEDED', 'the delegation grant is for another task', 'task_mismatch')
  const delegate = (await deps.agents.get(request.audience)) ?? (await deps.agents.getByName(request.audience))
  if (!delegate) return refuse('GRANT_INVALID', `agent \`${request.audience.slice(0, 128)}\` does not exist`, 'delegate_unknown')
  if (delegate.agent.status !== 'active') return refuse('AGENT_NOT_ACTIVE', `agent \`${delegate.agent.id}\` is ${delegate.agent.status}`, 'delegate_not_active')
  const target = delegate.agent.id
  // DEL-04: an agent that already appears in the chain (or is its subject) would make it a loop.
  const chain = [...actorsOf(parent.act), agent.id]
  if (chain.includes(target) || parent.subject === target) return refuse('DELEGATION_LOOP', `agent \`${target}\` already appears in the delegation chain`, 'delegation_loop')
  // DEL-05: the child holds one more agent than its parent.
  if (parent.depth + 1 > deps.maxDepth) return refuse('DELEGATION_DEPTH_EXCEEDED', `a delegation chain holds at most ${deps.maxDepth} agents`, 'depth_exceeded')

  const details = request.details ?? parent.details
  // DEL-01: every entry of the child must be covered by an entry of the parent.
  for (const detail of details) {
    const covered = coveringEntry(parent.details, detail)
    if (!covered.covered) return refuse('GRANT_SCOPE_EXCEEDED', `the delegation grant does not cover \`${detail.action}\` on \`${detail.resource}\``, `widened:${covered.reason}`)
  }
  const declared = new Set(delegate.agent.document.capabilities.map((c) => c.id))
  const undeclared = details.find((d) => !declared.has(d.action))
  if (undeclared) return refuse('AUTHORIZATION_DETAILS_INVALID', `agent \`${target}\` does not declare \`${undeclared.action}\``, `capability_not_declared:${undeclared.action}`)
  const now = deps.mint.clock.nowMs()
  // DEL-02: never later than the parent; a longer request is refused rather than silently clamped.
  if (request.expiresIn !== undefined && now + request.expiresIn * 1000 > parent.expiresAt) {
    return refuse('GRANT_SCOPE_EXCEEDED', 'the requested lifetime ends after the delegation grant', 'widened:expiry')
  }
  const expiresAt = request.expiresIn === undefined ? parent.expiresAt : now + request.expiresIn * 1000

  const child = newGrant({
    parent, subject: parent.subject, human: parent.human, mayAct: target, act: nestActor(agent.id, parent.act), details,
    task: parent.task, kind: 'delegation', createdBy: `agent:${agent.id}`, nowMs: now, expiresAt,
  })
  return issueGrant(child, {
    assertion,
    agent: { id: agent.id, version: agent.version },
    // Liveness of everything the child derives from, and of every agent in its chain (the new one included).
    delegation: { grants: [...parent.ancestors, parent.jti], agents: [...actorsOf(parent.act), target] },
  }, {
    type: 'delegation.create',
    actor: { kind: 'agent', id: agent.id },
    on_behalf_of: parent.subject,
    task: { id: parent.task.id },
    decision: { effect: 'allow', reasons: ['attenuated'] },
    data: {
      kind: 'delegation', delegator: agent.id, delegate: target, parent: parent.jti, depth: child.depth,
      narrowed: narrowed(parent, child), authorization_details: child.details, ...(sourceIp ? { source_ip: sourceIp } : {}),
    },
  }, { keys: deps.mint.keys, log: deps.mint.log, issuer: deps.mint.issuer })
}

/** What this hop took away from the parent, for the audit record. */
function narrowed(parent: Grant, child: Grant): string[] {
  const what: string[] = []
  if (child.details.length < parent.details.length) what.push('entries')
  if (!child.details.every((d) => parent.details.some((p) => p.resource === d.resource))) what.push('resource')
  if (!child.details.every((d) => parent.details.some((p) => isDeepStrictEqual(p.parameters, d.parameters)))) what.push('parameters')
  if (!child.details.every((d) => parent.details.some((p) => isDeepStrictEqual(p.actions, d.actions)))) what.push('access_type')
  if (child.expiresAt < parent.expiresAt) what.push('expiry')
  return what
}
