/**
 * RFC 7662 introspection at `POST /oauth/introspect`, for resource servers that prefer asking to verifying offline.
 * Only a resource server gets answers, and only about capability tokens for its own audience: every other case
 * (an agent asking, a grant, another audience's token, a token Writ cannot read, expired, revoked) is `active: false`,
 * so the caller learns nothing about tokens that are not its business (RFC 7662 §2.2, §4).
 */
import { DPOP, type CapabilityClaims } from '@writ/sdk'
import type { OwnSignatureCheck } from '../keys/own-signature.js'
import type { RevocationState } from '../revocation/revocation-state.js'
import { commitOrThrow } from './issue-token.js'
import type { MintDeps } from './mint.js'
import { readPresentedToken } from './presented-token.js'
import { audienceOf, authenticate, checkHint } from './revoke-token.js'
import type { ClientAuthenticationInput } from './client-authentication.js'
import { WritError } from '@writ/sdk'

export interface IntrospectTokenDeps {
  mint: Pick<MintDeps, 'auth' | 'log' | 'rateLimits' | 'clock'>
  signature: OwnSignatureCheck
  issuer: string
  revocationState: Pick<RevocationState, 'isRevoked'>
}

export type Introspection = { active: false } | ({ active: true; token_type: string } & Partial<CapabilityClaims>)

const INACTIVE = { active: false } as const

export async function introspectToken(client: ClientAuthenticationInput, form: Map<string, string>, deps: IntrospectTokenDeps): Promise<Introspection> {
  const caller = await authenticate(client, deps)
  // Spent through the group commit; introspection itself is a read and writes no audit record (its volume is the
  // verification rate), except when an agent asks, which is recorded as the refusal it is.
  const agentAsks = caller.actor.kind === 'agent'
  await commitOrThrow(deps.mint.log, {
    assertion: caller.assertion,
    ...(agentAsks ? { audit: { type: 'introspection.deny', actor: caller.actor, decision: { effect: 'deny', reasons: ['client_not_resource_server'] } } } : {}),
  })
  checkHint(form.get('token_type_hint'))
  const token = form.get('token')
  if (token === undefined || token.length === 0) throw new WritError('REQUEST_INVALID', 'the token parameter is required')
  if (agentAsks) return INACTIVE

  const presented = await readPresentedToken(token, deps)
  // A grant is only ever redeemed at Writ; no resource server has any business with it.
  if (presented.kind !== 'capability') return INACTIVE
  const { claims, kid } = presented
  const now = deps.mint.clock.nowSeconds()
  if (!(claims.exp > now) || (typeof claims.nbf === 'number' && claims.nbf > now)) return INACTIVE
  // untrusted: `aud` comes from the token; compare with the caller's registered audience, never with itself.
  if (audienceOf(claims.aud) !== caller.audience) return INACTIVE
  if (deps.revocationState.isRevoked(claims, kid)) return INACTIVE
  return {
    active: true,
    iss: claims.iss, sub: claims.sub, client_id: claims.client_id, aud: claims.aud,
    ...(claims.act !== undefined ? { act: claims.act } : {}),
    authorization_details: claims.authorization_details, task: claims.task,
    exp: claims.exp, iat: claims.iat, jti: claims.jti,
    ...(claims.cnf !== undefined ? { cnf: claims.cnf } : {}),
    ...(claims.parent !== undefined ? { parent: claims.parent } : {}),
    // RFC 9449 §8.1 (via RFC 7662): a bound token is a DPoP token.
    token_type: claims.cnf !== undefined ? DPOP.tokenType : 'Bearer',
  }
}
