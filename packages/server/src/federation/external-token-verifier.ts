/** verifyExternalToken(): a JWT from a trusted outside issuer, checked through that issuer's discovery document and JWKS. */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose'
import { ID_JAG_TYP, SIZE_LIMITS, WritError } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { IssuerKeys } from './issuer-keys.js'

export interface ExternalIssuerRules {
  keys: IssuerKeys
  /** The `aud` the token must carry (exact; an array must contain it). */
  audience: string
  algorithms: readonly string[]
  maxLifetimeSeconds: number
  leewaySeconds: number
  /**
   * Accepted `typ` values (lowercase, `application/` removed; null admits a token without one). When unset, any `typ`
   * but Writ's own and an ID-JAG's is accepted.
   */
  typs?: readonly (string | null)[]
  requireJti?: boolean
}

export interface VerifiedExternalToken {
  claims: JWTPayload & { iss: string; sub: string; exp: number; iat: number }
  typ: string | undefined
}

// Header members that would let the token choose its own key or key location (RFC 8725 §3.10); `x5t` only names a
// key of the set we fetched, and GitHub's tokens carry it, so it is allowed.
const FORBIDDEN_HEADER_MEMBERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit', 'b64', 'zip']
// Writ's own token types are never an outside issuer's workload token (cross-JWT confusion), and an ID-JAG is only
// ever accepted where it is asked for.
const REFUSED_TYPS = new Set(['at+jwt', 'dpop+jwt', 'writ-sudo+jwt', 'writ-grant+jwt', ID_JAG_TYP])

export function invalidExternalToken(reason: string, detail = 'the external token is invalid'): WritError {
  return new WritError('EXTERNAL_TOKEN_INVALID', detail, { reasons: [reason] })
}

/** The unverified `iss`, only to choose which trusted issuer's rules apply; undefined when the token is not a JWT. */
export function peekIssuer(token: string): string | undefined {
  if (token.length > SIZE_LIMITS.tokenBytes) return undefined
  try {
    const iss = decodeJwt(token).iss
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

/** The unverified `typ` (lowercase, `application/` removed), only to choose which verification runs. */
export function peekTyp(token: string): string | undefined {
  if (token.length > SIZE_LIMITS.tokenBytes) return undefined
  try {
    const typ = decodeProtectedHeader(token).typ
    return typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined
  } catch {
    return undefined
  }
}

export async function verifyExternalToken(token: string, rules: ExternalIssuerRules, clock: Clock): Promise<VerifiedExternalToken> {
  if (token.length > SIZE_LIMITS.tokenBytes) throw invalidExternalToken('external_token_too_large')
  let header: ReturnType<typeof decodeProtectedHeader>
  try {
    header = decodeProtectedHeader(token)
  } catch {
    throw invalidExternalToken('external_token_malformed')
  }
  for (const member of FORBIDDEN_HEADER_MEMBERS) {
    if (Object.hasOwn(header, member)) throw invalidExternalToken(`external_header_${member}_forbidden`)
  }
  // untrusted: `alg` comes from the token; only the configured asymmetric algorithms reach the key lookup.
  if (typeof header.alg !== 'string' || !rules.algorithms.includes(header.alg)) throw invalidExternalToken('external_alg_not_allowed')
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : undefined
  if (rules.typs !== undefined ? !rules.typs.includes(typ ?? null) : typ !== undefined && REFUSED_TYPS.has(typ)) throw invalidExternalToken('external_typ_invalid')

  const nowSeconds = clock.nowSeconds()
  let payload: JWTPayload
  try {
    ({ payload } = await jwtVerify(token, rules.keys.getKey, {
      issuer: rules.keys.issuer,
      audience: rules.audience,
      algorithms: [...rules.algorithms],
      clockTolerance: rules.leewaySeconds,
      currentDate: new Date(nowSeconds * 1000),
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
    }))
  } catch (error) {
    if (error instanceof WritError) throw error
    throw invalidExternalToken(reasonOf(error))
  }
  const { sub, iat, exp, jti } = payload as Required<JWTPayload>
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 512) throw invalidExternalToken('external_sub_invalid')
  // jose checks exp and nbf; a token issued in the future, or living longer than the provider allows, is refused here.
  if (iat - rules.leewaySeconds > nowSeconds) throw invalidExternalToken('external_iat_in_future')
  if (exp - iat > rules.maxLifetimeSeconds) throw invalidExternalToken('external_lifetime_too_long')
  if (rules.requireJti && (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)) throw invalidExternalToken('external_jti_missing')
  return { claims: payload as VerifiedExternalToken['claims'], typ }
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'external_token_expired'
  if (error instanceof errors.JWKSNoMatchingKey) return 'external_kid_unknown'
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'external_signature_invalid'
  if (error instanceof errors.JOSEAlgNotAllowed) return 'external_alg_not_allowed'
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'external_iss_invalid'
    if (error.claim === 'aud') return 'external_aud_invalid'
    if (error.claim === 'nbf') return 'external_not_yet_valid'
    return `external_${error.claim}_invalid`
  }
  return 'external_token_invalid'
}
