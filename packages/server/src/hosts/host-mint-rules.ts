/**
 * The mint path's host rules after the decision: an `ssh.login` token's parameters are what the determining permits
 * grant (ssh-login-parameters.ts); when they grant nothing the request is refused like any policy denial (assertion
 * spent, `token.deny` audited). Also what Cedar sees of the target host. Any other action costs one comparison.
 */
import { WritError } from '@writ/sdk'
import type { Agent } from '../agents/agent-document.js'
import type { Decision, PolicyEngine } from '../policy/policy-engine.js'
import type { CapabilityRequest } from '../tokens/capability.js'
import { commitOrThrow, decisionRecord, type Assertion, type DecisionContext } from '../tokens/issue-token.js'
import type { IssuanceLog } from '../tokens/issuance-log.js'
import { SSH_LOGIN } from './host-actions.js'
import type { HostDirectory } from './host-directory.js'
import { HOST_RESOURCE_PREFIX, hostNameOfResource, labelStrings } from './host.js'
import { sshLoginParameters } from './ssh-login-parameters.js'

/** The `Writ::Host` of a `host:<name>` resource when that host is enrolled and active. */
export function targetHostOf(resource: string, hosts: Pick<HostDirectory, 'active'> | undefined): { name: string; labels: string[] } | undefined {
  if (hosts === undefined || !resource.startsWith(HOST_RESOURCE_PREFIX)) return undefined
  const name = hostNameOfResource(resource)
  const host = name === undefined ? undefined : hosts.active(name)
  return host && { name: host.name, labels: labelStrings(host.labels) }
}

/**
 * The request as it will be issued: for `ssh.login`, with the parameters policy decided. A refusal is committed
 * (assertion spent, `token.deny` audited) and thrown as POLICY_DENIED.
 */
export async function withHostParameters(
  agent: Agent, request: CapabilityRequest, decision: Decision, assertion: Assertion, context: DecisionContext,
  deps: { policy: Pick<PolicyEngine, 'annotations'>; log: IssuanceLog }, data?: Record<string, unknown>,
): Promise<CapabilityRequest> {
  if (request.action.action !== SSH_LOGIN) return request
  const parameters = sshLoginParameters(request.action, decision, deps.policy.annotations ? (id) => deps.policy.annotations?.(id) : undefined)
  if ('reason' in parameters) {
    const denied: Decision = { effect: 'deny', reasons: [...decision.reasons, parameters.reason], policies: decision.policies }
    await commitOrThrow(deps.log, { assertion, audit: decisionRecord('token.deny', agent, request, denied, context, data ? { data } : {}) })
    throw new WritError('POLICY_DENIED', `policy grants no SSH login for \`${request.action.resource}\` as requested`, { reasons: [parameters.reason] })
  }
  return { ...request, action: { ...request.action, parameters: { ...parameters } } }
}
