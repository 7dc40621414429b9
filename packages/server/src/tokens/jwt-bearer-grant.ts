/**
 * The RFC 7523 §2.1 authorization grant (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`): an external JWT
 * that a trusted issuer signed for the agent is the grant itself, with no client assertion. It maps to an agent
 * through `federated_identities` (federation/ implements the port) and then takes the client_credentials path.
 */
import { WritError } from '@writ/sdk'
import type { CapabilityRequest } from './capability.js'
import type { AuthenticatedClient } from './client-authentication.js'
import type { IssuedCapability } from './issue-token.js'
import { authenticateWith, decideAndIssue, parseSpendingAssertion, type MintDeps } from './mint.js'

/** Port: verifies a jwt-bearer assertion and finds the agent it stands for; failures are ClientAuthenticationErrors. */
export interface AssertionGrantAuthenticator {
  authenticateGrant(assertion: string, clientId: string | undefined): Promise<AuthenticatedClient>
}

export interface JwtBearerInput {
  assertion?: string
  clientId?: string
  /** Present when the client also sent a client assertion, which this grant does not use. */
  clientAssertion?: string
  dpop?: string
}

export async function jwtBearerGrant(
  input: JwtBearerInput, parse: () => CapabilityRequest, sourceIp: string | undefined, deps: MintDeps,
): Promise<IssuedCapability> {
  if (!input.assertion) throw new WritError('REQUEST_INVALID', 'assertion is required')
  // One identity per request: the assertion names the agent, so a second credential could only disagree with it.
  if (input.clientAssertion !== undefined) throw new WritError('REQUEST_INVALID', 'the jwt-bearer grant takes no client_assertion: the assertion identifies the agent')
  const grants = deps.assertionGrants
  if (!grants) throw new WritError('EXTERNAL_TOKEN_INVALID', 'no trusted issuer is configured for the jwt-bearer grant')
  const assertion = input.assertion
  const { agent, assertion: spent, federation } = await authenticateWith(() => grants.authenticateGrant(assertion, input.clientId), deps, input.dpop)
  const request = await parseSpendingAssertion(parse, agent.id, spent, deps)
  return decideAndIssue(agent, request, spent, sourceIp, deps, { grant_type: 'jwt-bearer', ...(federation ? { federation } : {}) })
}
