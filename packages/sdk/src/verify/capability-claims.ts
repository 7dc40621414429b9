/** Claim checks of a capability token (docs/tokens.md), run only after its signature has verified. */
import { WritError } from '../errors/writ-error.js'
import { SIZE_LIMITS, WRIT_ACTION_TYPE, type CapabilityClaims } from '../wire/profile.js'

export interface ClaimRules {
  issuer: string
  audiences: readonly string[]
  leewaySeconds: number
  maxLifetimeSeconds: number
}

/**
 * Narrows signed claims to CapabilityClaims or throws TOKEN_INVALID / TOKEN_EXPIRED with one reason. Every claim is
 * type-checked before use, so `"exp": "9999999999"`, NaN, 1e309 or `null` fail as values, never as exceptions.
 */
export function checkCapabilityClaims(claims: Record<string, unknown>, rules: ClaimRules, now: number): CapabilityClaims {
  // JWT-16: exact string match; a trailing slash or a case variant is another issuer.
  if (claims.iss !== rules.issuer) throw invalid('the token issuer does not match', 'iss_mismatch')
  checkAudience(claims.aud, rules.audiences)

  const exp = claims.exp
  const iat = claims.iat
  const nbf = claims.nbf
  if (exp === undefined) throw invalid('the token has no expiry', 'exp_missing')
  if (!isTime(exp)) throw invalid('the token expiry is not a valid time', 'exp_invalid')
  if (iat === undefined) throw invalid('the token has no issue time', 'iat_missing')
  if (!isTime(iat)) throw invalid('the token issue time is not a valid time', 'iat_invalid')
  if (nbf !== undefined && !isTime(nbf)) throw invalid('the token not-before time is not a valid time', 'nbf_invalid')
  // JWT-12: an expiry within the leeway still passes, one second more does not.
  if (exp + rules.leewaySeconds <= now) {
    throw new WritError('TOKEN_EXPIRED', 'the token has expired', { reasons: ['exp_passed'] })
  }
  // JWT-13: a token from the future is forged or from a skewed clock; either way not yet usable.
  if (iat - rules.leewaySeconds > now) throw invalid('the token was issued in the future', 'iat_in_future')
  if (nbf !== undefined && nbf - rules.leewaySeconds > now) throw invalid('the token is not yet valid', 'nbf_in_future')
  // JWT-14: the profile's lifetime cap holds even for a correctly signed token.
  if (exp <= iat) throw invalid('the token expires before it was issued', 'lifetime_invalid')
  if (exp - iat > rules.maxLifetimeSeconds) throw invalid('the token lifetime exceeds the maximum', 'lifetime_too_long')

  if (!isNonEmptyString(claims.jti)) throw invalid('the token has no valid jti', 'jti_invalid')
  if (!isNonEmptyString(claims.sub)) throw invalid('the token has no valid subject', 'sub_invalid')
  if (!isNonEmptyString(claims.client_id)) throw invalid('the token has no valid client_id', 'client_id_invalid')
  checkAuthorizationDetails(claims.authorization_details)
  checkTask(claims.task)
  if (claims.act !== undefined) checkActorChain(claims.act)
  if (claims.parent !== undefined && !isNonEmptyString(claims.parent)) throw invalid('the token parent is not valid', 'parent_invalid')
  if (claims.cnf !== undefined && !(isRecord(claims.cnf) && isNonEmptyString(claims.cnf.jkt))) {
    throw invalid('the token confirmation claim is not valid', 'cnf_invalid')
  }
  return claims as unknown as CapabilityClaims
}

/**
 * Depth of an RFC 8693 `act` chain, walked iteratively and abandoned one step past `limit`, so a chain 1,000 deep
 * costs `limit + 1` steps and no stack. Returns -1 when a link is not an object with a non-empty `sub`.
 */
export function actorChainDepth(act: unknown, limit: number = SIZE_LIMITS.actDepth): number {
  let depth = 0
  let node = act
  while (node !== undefined) {
    if (!isRecord(node) || !isNonEmptyString(node.sub)) return -1
    depth++
    if (depth > limit) return depth
    node = node.act
  }
  return depth
}

function checkActorChain(act: unknown): void {
  const depth = actorChainDepth(act)
  if (depth === -1) throw invalid('the token actor chain is not valid', 'act_invalid')
  if (depth > SIZE_LIMITS.actDepth) throw invalid('the token actor chain is too deep', 'act_too_deep')
}

function checkAudience(aud: unknown, ours: readonly string[]): void {
  // untrusted: `aud` comes from the presented token; compare with the configured audiences, never with itself.
  if (aud === undefined) throw invalid('the token has no audience', 'aud_missing')
  if (typeof aud === 'string') {
    if (ours.includes(aud)) return
  } else if (Array.isArray(aud)) {
    if (!aud.every(isNonEmptyString)) throw invalid('the token audience is not valid', 'aud_invalid')
    if (aud.some((entry) => ours.includes(entry))) return
  } else {
    throw invalid('the token audience is not valid', 'aud_invalid')
  }
  throw invalid('the token audience does not match', 'aud_mismatch')
}

function checkAuthorizationDetails(details: unknown): void {
  if (!Array.isArray(details) || details.length !== 1) {
    throw invalid('the token must carry exactly one authorization detail', 'authorization_details_invalid')
  }
  const detail: unknown = details[0]
  if (
    !isRecord(detail) ||
    detail.type !== WRIT_ACTION_TYPE ||
    !isNonEmptyString(detail.action) ||
    !isNonEmptyString(detail.resource) ||
    (detail.parameters !== undefined && !isRecord(detail.parameters))
  ) {
    throw invalid('the token authorization detail is not a valid writ action', 'authorization_details_invalid')
  }
}

function checkTask(task: unknown): void {
  if (
    !isRecord(task) ||
    !isNonEmptyString(task.id) ||
    (task.step !== undefined && typeof task.step !== 'string') ||
    (task.purpose !== undefined && typeof task.purpose !== 'string')
  ) {
    throw invalid('the token task claim is not valid', 'task_invalid')
  }
}

/** A NumericDate Writ accepts: a non-negative safe integer (rejects strings, NaN, Infinity from 1e309, fractions). */
function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function invalid(detail: string, reason: string): WritError {
  return new WritError('TOKEN_INVALID', detail, { reasons: [reason] })
}
