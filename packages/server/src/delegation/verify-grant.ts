/**
 * Verifies a delegation grant presented as a `subject_token`: strict parse with `typ` writ-grant+jwt (a capability
 * token or anything else is refused here, as a grant is refused by every capability verifier), Writ's own signature,
 * issuer and audience exactly Writ, expiry, and the stored row, which is authoritative for revocation and lineage.
 */
import type { KeyObject } from 'node:crypto'
import {
  SIGNING_ALGORITHMS, SIZE_LIMITS, TOKEN_TYPES, WritError, createCompactJwsParser, importVerificationKey, keyTypeForAlgorithm,
  keyTypeOf, verifyJwsSignatureAsync,
} from '@writ/sdk'
import type { JsonWebKey } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { KeyManager } from '../keys/key-manager.js'
import type { GrantRepository } from '../storage/grant-repository.js'
import type { Grant } from './grant.js'

export interface GrantVerifierDeps {
  keys: KeyManager
  grants: Pick<GrantRepository, 'find'>
  clock: Clock
  issuer: string
  leewaySeconds: number
}

/** A refused grant, with the reason the audit record names (never the grant itself). */
export class GrantRefusal extends WritError {}

const parseGrant = createCompactJwsParser({
  maxBytes: SIZE_LIMITS.tokenBytes, allowedAlgorithms: SIGNING_ALGORITHMS, expectedTyp: TOKEN_TYPES.grant,
})

export function grantVerifier(deps: GrantVerifierDeps): (token: string) => Promise<Grant> {
  // A kid is an RFC 7638 thumbprint, so the key it names never changes; keys are imported once.
  const imported = new Map<string, KeyObject>()
  const keyFor = (kid: string): KeyObject | undefined => {
    const known = imported.get(kid)
    if (known !== undefined) return known
    const jwk = deps.keys.jwks().keys.find((k) => k.kid === kid)
    if (jwk === undefined) return undefined
    const key = importVerificationKey(jwk as JsonWebKey)
    imported.set(kid, key)
    return key
  }

  // Verified grants by their exact string: an agent presents the same grant for every action of its task, and the
  // second signature check and row read were most of an exchange's extra cost (bench:exchange). Sound because the
  // same bytes verify the same way; what can change is re-checked on every hit: expiry, and that the signing key is
  // still published. Revocation is never answered from here: the issuing transaction reads it. A re-encoded grant is
  // another string, so it misses and takes the full path, which refuses non-canonical encodings.
  const verified = new Map<string, { grant: Grant; kid: string }>()
  const published = (kid: string) => deps.keys.jwks().keys.some((k) => k.kid === kid)

  return async (token) => {
    const hit = verified.get(token)
    if (hit !== undefined) {
      if (hit.grant.expiresAt + deps.leewaySeconds * 1000 <= deps.clock.nowMs()) throw refuse('the delegation grant has expired', 'grant_expired')
      if (published(hit.kid)) return hit.grant
      verified.delete(token)
    }
    const grant = await verifyFully(token)
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string)
    verified.set(token, { grant, kid: parseGrant(token).header.kid as string })
    return grant
  }

  async function verifyFully(token: string): Promise<Grant> {
    let parsed: ReturnType<typeof parseGrant>
    try {
      parsed = parseGrant(token)
    } catch (error) {
      // JWT-17: a capability token (at+jwt), an ID token or a DPoP proof fails here on its typ.
      throw refuse('the subject token is not a valid delegation grant', `grant_malformed:${(error as WritError).reasons?.[0] ?? 'invalid'}`)
    }
    const { header, claims } = parsed
    const key = typeof header.kid === 'string' && published(header.kid) ? keyFor(header.kid) : undefined
    if (key === undefined) throw refuse('the delegation grant names no key of this server', 'grant_key_unknown')
    if (keyTypeForAlgorithm(header.alg) !== keyTypeOf(key)) throw refuse('the delegation grant algorithm does not fit its key', 'grant_alg_key_mismatch')
    if (!(await verifyJwsSignatureAsync(header.alg, key, parsed.signingInput, parsed.signature))) {
      throw refuse('the delegation grant signature is invalid', 'grant_signature_invalid')
    }
    // Claims are read only from here on, after the signature verified.
    // untrusted: compare iss and aud with this server's issuer, never with each other.
    if (claims.iss !== deps.issuer) throw refuse('the delegation grant was not issued by this server', 'grant_iss_mismatch')
    if (claims.aud !== deps.issuer) throw refuse('the delegation grant is not for this server', 'grant_aud_mismatch')
    const now = deps.clock.nowSeconds()
    if (!isTime(claims.exp) || !isTime(claims.iat)) throw refuse('the delegation grant has no valid times', 'grant_times_invalid')
    if (claims.exp + deps.leewaySeconds <= now) throw refuse('the delegation grant has expired', 'grant_expired')
    if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 64) throw refuse('the delegation grant has no valid jti', 'grant_jti_invalid')
    const grant = await deps.grants.find(claims.jti)
    // A grant we signed but never stored (a rolled-back transaction) is not a grant.
    if (grant === undefined) throw refuse('the delegation grant is unknown', 'grant_unknown')
    const mayAct = claims.may_act as { sub?: unknown } | undefined
    if (grant.subject !== claims.sub || grant.mayAct !== mayAct?.sub) throw refuse('the delegation grant does not match its record', 'grant_record_mismatch')
    // An early answer only; the issuing transaction checks the whole chain again and is what counts.
    if (grant.revokedAt !== null) throw new GrantRefusal('GRANT_REVOKED', 'the delegation grant is revoked', { reasons: ['grant_revoked'] })
    // The binding is in the signed JWT only; the signature above makes it ours.
    const cnf = claims.cnf as { jkt?: unknown } | undefined
    if (cnf === undefined) return grant
    if (typeof cnf !== 'object' || cnf === null || typeof cnf.jkt !== 'string' || cnf.jkt.length === 0) throw refuse('the delegation grant confirmation is invalid', 'grant_cnf_invalid')
    return { ...grant, cnf: { jkt: cnf.jkt } }
  }
}

// Bounded: at most this many grant strings (≈1 KiB each) are remembered; the oldest goes first.
const VERIFIED_CACHE_SIZE = 4_096

function refuse(detail: string, reason: string): GrantRefusal {
  return new GrantRefusal('GRANT_INVALID', detail, { reasons: [reason] })
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}
