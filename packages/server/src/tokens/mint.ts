/** mintCapability(): authenticate → decide → sign, hold or refuse → record + audit in one durable transaction → answer. */
import { WritError } from '@writ/sdk'
import type { Agent } from '../agents/agent-document.js'
import type { AuthorizationRequest, PolicyEngine } from '../policy/policy-engine.js'
import type { RateLimits } from '../rate-limits/rate-limits.js'
import { holdRequest, type HoldDeps } from '../oversight/hold-request.js'
import { authenticateClient, ClientAuthenticationError, type AuthenticatedClient, type ClientAuthenticationDeps, type ClientAuthenticationInput, type FederationEvidence } from './client-authentication.js'
import type { AssertionGrantAuthenticator } from './jwt-bearer-grant.js'
import type { CapabilityRequest } from './capability.js'
import { commitOrThrow, decisionRecord, issueToken, type Assertion, type IssueDeps, type IssuedCapability } from './issue-token.js'
import { checkDpopHeader, type DpopBinding, type DpopDeps } from './dpop-proof-check.js'
import type { Audiences } from '../resource-servers/audiences.js'
import type { HostDirectory } from '../hosts/host-directory.js'
import { targetHostOf, withHostParameters } from '../hosts/host-mint-rules.js'

export interface MintDeps extends IssueDeps {
  auth: ClientAuthenticationDeps
  policy: PolicyEngine & { version?: () => number }
  hold: HoldDeps
  rateLimits: Pick<RateLimits, 'admitAgent'>
  dpop: DpopDeps
  /** The RFC 7523 jwt-bearer grant's verifier (federation/); absent when no trusted issuer is configured. */
  assertionGrants?: AssertionGrantAuthenticator
  /** Names the registered resource server of an audience, for policy (`context.resource_server`). */
  audiences?: Pick<Audiences, 'resourceServerName'>
  /** Enrolled hosts: Cedar's `context.target_host` for a `host:<name>` resource. */
  hosts?: Pick<HostDirectory, 'active'>
}

export async function mintCapability(
  client: ClientAuthenticationInput, parse: () => CapabilityRequest, sourceIp: string | undefined, deps: MintDeps,
): Promise<IssuedCapability> {
  const { agent, assertion, federation } = await authenticate(client, deps)
  const request = await parseSpendingAssertion(parse, agent.id, assertion, deps)
  return decideAndIssue(agent, request, assertion, sourceIp, deps, federation ? { federation } : undefined)
}

/**
 * Decide → hold, refuse or issue, for an authenticated agent and a parsed request: the one path of client_credentials
 * and of a delegation grant exchanged for a capability (delegation/exchange-grant.ts), so boundary, Cedar and human
 * oversight apply to both alike.
 */
export async function decideAndIssue(
  agent: AuthenticatedClient['cached']['agent'], request: CapabilityRequest, assertion: Assertion, sourceIp: string | undefined, deps: MintDeps,
  data?: Record<string, unknown>,
): Promise<IssuedCapability> {
  const timeMs = deps.clock.nowMs()
  const decision = deps.policy.decide(policyRequest(agent, request, timeMs, sourceIp, deps.audiences?.resourceServerName(request.audience), targetHostOf(request.action.resource, deps.hosts)))
  const context = { timeMs, ...(sourceIp ? { sourceIp } : {}), ...(deps.policy.version ? { policyVersion: deps.policy.version() } : {}) }
  // ssh.login: principals and options from the determining permits; none → refused now, before a human is asked.
  // A held request is stored as asked (its poll names the same details) and decided again, parameters too, on redemption.
  const issued = decision.effect === 'deny' ? request : await withHostParameters(agent, request, decision, assertion, context, deps, data)
  if (decision.effect === 'hold') return holdRequest(agent, request, decision, assertion, context, deps.hold)
  if (decision.effect === 'deny') {
    await commitOrThrow(deps.log, { assertion, audit: decisionRecord('token.deny', agent, request, decision, context, data ? { data } : {}) })
    if (agent.status !== 'active') throw new WritError('AGENT_NOT_ACTIVE', `agent \`${agent.id}\` is ${agent.status}`, { reasons: decision.reasons })
    throw new WritError('POLICY_DENIED', `policy denied \`${request.action.action}\` on \`${request.action.resource}\``, { reasons: decision.reasons })
  }
  return issueToken(agent, issued, decision, assertion, context, deps, data ? { data } : {})
}

/** What the policy sees of a request; a delegated one adds the human and the depth of the chain. */
export function policyRequest(
  agent: Agent, request: CapabilityRequest, timeMs: number, sourceIp: string | undefined, resourceServer?: string,
  targetHost?: AuthorizationRequest['targetHost'],
): AuthorizationRequest {
  const delegation = request.delegation
  return {
    audience: request.audience, ...(resourceServer !== undefined ? { resourceServer } : {}), ...(targetHost ? { targetHost } : {}),
    agent, action: request.action.action, resource: request.action.resource, parameters: request.action.parameters,
    ...(request.action.actions ? { accessType: request.action.actions[0] } : {}),
    task: request.task, timeMs, ...(sourceIp ? { sourceIp } : {}),
    ...(delegation ? { delegationDepth: delegation.depth } : {}),
    ...(delegation?.human ? { human: { id: delegation.subject, groups: delegation.human.groups } } : {}),
  }
}

/**
 * Authenticates the agent, then takes its rate-limit bucket. Every authentication failure is audited (reason only, never
 * the assertion) before it is answered; a rate-limit refusal is counted for the interval's summary instead.
 */
export async function authenticate(client: ClientAuthenticationInput & { dpop?: string }, deps: MintDeps): Promise<Authenticated> {
  return authenticateWith(() => authenticateClient(client, deps.auth), deps, client.dpop)
}

export interface Authenticated {
  agent: AuthenticatedClient['cached']['agent']
  assertion: Assertion
  /** Set when an external token authenticated the agent: what its token's audit record names. */
  federation?: FederationEvidence
}

/** authenticate() with another way to authenticate (the jwt-bearer grant's assertion): same audit, bucket and DPoP. */
export async function authenticateWith(run: () => Promise<AuthenticatedClient>, deps: MintDeps, dpopHeader?: string): Promise<Authenticated> {
  // The proof is checked while the assertion is (both signatures on the thread pool); it is judged only once the
  // agent is known, so a bad proof from an authenticated agent spends its assertion and is audited like a bad request.
  const proof = checkDpopHeader(dpopHeader, deps.dpop)
  let authenticated: AuthenticatedClient
  try {
    authenticated = await run()
  } catch (error) {
    throw await auditAuthenticationFailure(error, deps)
  }
  const { agent } = authenticated.cached
  // DOS-01: the agent's own bucket, keyed on the verified identity (rate-limits/rate-limits.ts says why only now).
  deps.rateLimits.admitAgent(agent.id)
  const spent = authenticated.assertion
  // A reusable external token is not spent; the request still carries its DPoP proof through the same object.
  const assertion: Assertion = spent
    ? { clientId: spent.replayScope ?? agent.id, jti: spent.jti, expiresAtMs: spent.expiresAtMs }
    : { clientId: agent.id, jti: '', expiresAtMs: 0, reusable: true }
  // The common case (no proof, none required) stays synchronous: no extra turn on the hot path.
  const dpop = proof === undefined && !deps.dpop.requireAll && agent.document.require_dpop !== true
    ? undefined : await settleProof(proof, agent, assertion, deps)
  const federation = authenticated.federation ? { federation: authenticated.federation } : {}
  return { agent, assertion: dpop === undefined ? assertion : { ...assertion, dpop }, ...federation }
}

/** Audits a failed client authentication (reason only, never the assertion); returns what the caller is told. */
export async function auditAuthenticationFailure(error: unknown, deps: Pick<MintDeps, 'log'>): Promise<unknown> {
  if (!(error instanceof ClientAuthenticationError)) return error
  const claimed = error.claimedAgentId
  await deps.log.commit({
    ...(error.options.spent ? { assertion: error.options.spent } : {}),
    audit: {
      type: 'client.authentication_fail',
      actor: { kind: error.options.actorKind ?? 'agent', id: claimed === undefined ? 'unknown' : truncate(claimed) },
      decision: { effect: 'deny', reasons: [...error.reasons] },
    },
  })
  return error.response()
}

/** The proof's verdict, or a refusal when an agent that must use DPoP sent none (its document, or `tokens.requireDpop`). */
async function settleProof(
  proof: ReturnType<typeof checkDpopHeader>, agent: AuthenticatedClient['cached']['agent'], assertion: Assertion, deps: MintDeps,
): Promise<DpopBinding | undefined> {
  const outcome = proof === undefined ? undefined : await proof
  if (outcome !== undefined && 'binding' in outcome) return outcome.binding
  let error: WritError
  if (outcome !== undefined) error = outcome.error
  else if (deps.dpop.requireAll || agent.document.require_dpop === true) {
    error = new WritError('DPOP_PROOF_INVALID', 'this agent must send a DPoP proof', { reasons: ['dpop_proof_required'] })
  } else {
    return undefined
  }
  await commitOrThrow(deps.log, {
    assertion,
    audit: { type: 'token.deny', actor: { kind: 'agent', id: agent.id }, decision: { effect: 'deny', reasons: [...error.reasons] } },
  })
  throw error
}

/** The assertion is spent even on a malformed request: single use means single use. */
export async function parseSpendingAssertion<T>(parse: () => T, agentId: string, assertion: Assertion, deps: MintDeps): Promise<T> {
  try {
    return parse()
  } catch (error) {
    await commitOrThrow(deps.log, {
      assertion,
      audit: { type: 'token.deny', actor: { kind: 'agent', id: agentId }, decision: { effect: 'deny', reasons: ['request_invalid'] } },
    })
    throw error
  }
}

function truncate(value: string): string {
  return value.length > 128 ? `${value.slice(0, 128)}…` : value
}
