/** mintCapability(): authenticate → decide → sign → record + audit in one durable transaction → answer. */
import { TOKEN_TYPES, WritError, type CapabilityClaims } from '@writ/sdk'
import type { AuditEvent } from '../audit/audit-record.js'
import type { Clock } from '../clock.js'
import type { KeyManager } from '../keys/key-manager.js'
import type { PolicyEngine } from '../policy/policy-engine.js'
import { authenticateClient, ClientAuthenticationError, type ClientAuthenticationDeps, type ClientAuthenticationInput } from './client-authentication.js'
import { capabilityClaims, type CapabilityRequest } from './capability.js'
import type { IssuanceLog, IssuanceOutcome } from './issuance-log.js'

export interface MintDeps {
  auth: ClientAuthenticationDeps
  policy: PolicyEngine
  keys: KeyManager
  log: IssuanceLog
  clock: Clock
  issuer: string
  ttlSeconds: number
}

export interface MintResult {
  token: string
  claims: CapabilityClaims
}

export async function mintCapability(
  client: ClientAuthenticationInput, parse: () => CapabilityRequest, sourceIp: string | undefined, deps: MintDeps,
): Promise<MintResult> {
  const authenticated = await authenticateClient(client, deps.auth).catch((error: unknown) => refuseAuthentication(error, deps))
  const { agent } = authenticated.cached
  const assertion = { clientId: agent.id, jti: authenticated.assertion.jti, expiresAtMs: authenticated.assertion.expiresAtMs }
  const actor = { kind: 'agent', id: agent.id } as const

  let request: CapabilityRequest
  try {
    request = parse()
  } catch (error) {
    // The assertion is spent even on a malformed request: single use means single use.
    await commitOrThrow(deps, { assertion, audit: { type: 'token.deny', actor, decision: { effect: 'deny', reasons: ['request_invalid'] } } })
    throw error
  }

  const nowMs = deps.clock.nowMs()
  const decision = deps.policy.decide({
    agent, action: request.action.action, resource: request.action.resource, parameters: request.action.parameters,
    task: request.task, timeMs: nowMs, ...(sourceIp ? { sourceIp } : {}),
  })
  const context = auditContext(request, actor)
  if (decision.effect !== 'allow') {
    const reasons = decision.effect === 'hold' ? ['approval_required', ...decision.reasons] : decision.reasons
    await commitOrThrow(deps, {
      assertion, audit: { ...context, type: 'token.deny', decision: { effect: 'deny', reasons }, data: { policies: decision.policies, agent_version: agent.version } },
    })
    if (agent.status !== 'active') throw new WritError('AGENT_NOT_ACTIVE', `agent \`${agent.id}\` is ${agent.status}`, { reasons })
    throw new WritError('POLICY_DENIED', `policy denied \`${request.action.action}\` on \`${request.action.resource}\``, { reasons })
  }

  const claims = capabilityClaims(agent, request, deps.issuer, Math.floor(nowMs / 1000), deps.ttlSeconds)
  const token = deps.keys.sign(TOKEN_TYPES.capability, claims as unknown as Record<string, unknown>)
  await commitOrThrow(deps, {
    assertion,
    agent: { id: agent.id, version: agent.version },
    token: {
      jti: claims.jti, agent_id: agent.id, task_id: request.task.id, action: request.action.action,
      resource: request.action.resource, audience: request.audience, issued_at: claims.iat * 1000, expires_at: claims.exp * 1000, parent_jti: null,
    },
    audit: {
      ...context, type: 'token.issue', decision: { effect: 'allow', reasons: decision.reasons },
      token: { jti: claims.jti, exp: claims.exp },
      data: { aud: request.audience, policies: decision.policies, agent_version: agent.version, kid: deps.keys.current().kid },
    },
  })
  return { token, claims }
}

function auditContext(request: CapabilityRequest, actor: AuditEvent['actor']): Omit<AuditEvent, 'type'> {
  const task: NonNullable<AuditEvent['task']> = { id: request.task.id }
  if (request.task.step !== undefined) task.step = request.task.step
  return { actor, task, action: request.action.action, resource: request.action.resource }
}

async function commitOrThrow(deps: MintDeps, entry: Parameters<IssuanceLog['commit']>[0]): Promise<void> {
  const outcome: IssuanceOutcome = await deps.log.commit(entry)
  switch (outcome) {
    case 'committed': return
    case 'assertion_replayed': throw new WritError('CLIENT_ASSERTION_REPLAYED', 'the client assertion was already used', { reasons: [outcome] })
    case 'agent_not_active': throw new WritError('AGENT_NOT_ACTIVE', 'the agent is not active', { reasons: [outcome] })
    case 'agent_changed': throw new WritError('AGENT_NOT_ACTIVE', 'the agent changed while the request was decided; retry', { reasons: [outcome] })
  }
}

/** Every authentication failure is audited (with its reason, never the assertion) before the refusal is answered. */
async function refuseAuthentication(error: unknown, deps: MintDeps): Promise<never> {
  if (!(error instanceof ClientAuthenticationError)) throw error
  const claimed = error.claimedAgentId
  await deps.log.commit({
    audit: {
      type: 'client.authentication_fail',
      actor: { kind: 'agent', id: claimed === undefined ? 'unknown' : truncate(claimed) },
      decision: { effect: 'deny', reasons: [...error.reasons] },
    },
  })
  throw error
}

function truncate(value: string): string {
  return value.length > 128 ? `${value.slice(0, 128)}…` : value
}

