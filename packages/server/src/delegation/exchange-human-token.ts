/**
 * exchangeHumanToken(): RFC 8693 token exchange of a human's ID token or JWT access token for a delegation grant to
 * the authenticated agent. The human's token is verified through the HumanTokenVerifier port (federation/ implements
 * it for `trust.humanIssuers`); without one, no human issuer is trusted and every such exchange is refused.
 */
import { WritError, type WritAction } from '@writ/sdk'
import type { ClientAuthenticationInput } from '../tokens/client-authentication.js'
import { authenticate, parseSpendingAssertion, type MintDeps } from '../tokens/mint.js'
import { refuseExchange } from './exchange-grant.js'
import type { HumanTokenVerifier } from './human-token-verifier.js'
import { issueHumanGrant, type HumanGrantDeps } from './issue-human-grant.js'
import type { IssuedGrant } from './issue-grant.js'

export interface HumanExchangeDeps extends HumanGrantDeps {
  mint: MintDeps
  humanTokens: HumanTokenVerifier | undefined
}

export interface HumanTokenExchange {
  subjectToken: string
  /** `id-jag`: an ID-JAG presented on the jwt-bearer grant (federation/id-jag-grant.ts), verified the same way. */
  kind: 'id_token' | 'jwt' | 'id-jag'
  details: WritAction[]
  task: { id: string; step?: string; purpose?: string }
  expiresIn: number | undefined
}

export async function exchangeHumanToken(
  client: ClientAuthenticationInput, parse: () => HumanTokenExchange, sourceIp: string | undefined, deps: HumanExchangeDeps,
): Promise<IssuedGrant> {
  const { agent, assertion, federation } = await authenticate(client, deps.mint)
  const request = await parseSpendingAssertion(parse, agent.id, assertion, deps.mint)
  if (deps.humanTokens === undefined) {
    return refuseExchange(new WritError('HUMAN_ISSUER_UNTRUSTED', 'no human identity provider is trusted (trust.humanIssuers is empty)', { reasons: ['human_issuer_untrusted'] }), agent, assertion, deps.mint)
  }
  let identity
  try {
    identity = await deps.humanTokens.verify(request.subjectToken, request.kind, agent.id)
  } catch (error) {
    if (!(error instanceof WritError)) throw error
    return refuseExchange(error, agent, assertion, deps.mint, { requested: 'grant', subject_token_type: request.kind })
  }
  return issueHumanGrant({
    identity, agent, details: request.details, task: request.task, assertion, via: request.kind, ...(federation ? { federation } : {}),
    ...(request.expiresIn !== undefined ? { expiresIn: request.expiresIn } : {}), ...(sourceIp ? { sourceIp } : {}),
  }, deps)
}
