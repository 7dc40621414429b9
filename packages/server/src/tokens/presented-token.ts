/**
 * A token handed back to Writ (RFC 7009 revocation, RFC 7662 introspection): parsed strictly, its signature checked
 * with Writ's published keys and its issuer compared, so that its claims can be trusted. The token string itself is
 * never stored, logged or echoed; only its `jti` is named.
 */
import { SIGNING_ALGORITHMS, SIZE_LIMITS, TOKEN_TYPES, createCompactJwsParser, type CapabilityClaims, type GrantClaims } from '@writ/sdk'
import type { OwnSignatureCheck } from '../keys/own-signature.js'

export type PresentedToken =
  | { kind: 'capability'; claims: CapabilityClaims; kid: string }
  | { kind: 'grant'; claims: GrantClaims; kid: string }
  /** Unparseable, another typ, not signed by a published key of Writ's, another issuer: Writ knows nothing of it. */
  | { kind: 'unknown'; reason: string }

const parsePresented = createCompactJwsParser({
  maxBytes: SIZE_LIMITS.tokenBytes, allowedAlgorithms: SIGNING_ALGORITHMS, expectedTyp: [TOKEN_TYPES.capability, TOKEN_TYPES.grant],
})

export async function readPresentedToken(token: string, deps: { signature: OwnSignatureCheck; issuer: string }): Promise<PresentedToken> {
  let parsed: ReturnType<typeof parsePresented>
  try {
    parsed = parsePresented(token)
  } catch {
    return { kind: 'unknown', reason: 'token_malformed' }
  }
  const failure = await deps.signature(parsed)
  if (failure !== undefined) return { kind: 'unknown', reason: `token_${failure}` }
  const { header, claims } = parsed
  if (claims.iss !== deps.issuer || typeof claims.jti !== 'string' || typeof claims.exp !== 'number') return { kind: 'unknown', reason: 'token_claims_invalid' }
  const typ = String(header.typ).toLowerCase().replace(/^application\//, '')
  const kid = header.kid as string
  // Both types are Writ's own and signed by it; the typ says which claim set it is (never interchangeable).
  return typ === TOKEN_TYPES.grant
    ? { kind: 'grant', claims: claims as unknown as GrantClaims, kid }
    : { kind: 'capability', claims: claims as unknown as CapabilityClaims, kid }
}
