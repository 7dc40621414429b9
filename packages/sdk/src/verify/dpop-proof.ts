/**
 * RFC 9449 DPoP proofs: the structural, key and claim checks shared by Writ's token endpoint and the SDK verifier. The
 * signature check is the caller's (synchronous in the SDK, on the thread pool at the token endpoint), with the key
 * returned here.
 */
import { createHash, type JsonWebKey, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint } from 'jose'
import { WritError } from '../errors/writ-error.js'
import { DPOP, DPOP_ALGORITHMS, SIZE_LIMITS, TOKEN_TYPES } from '../wire/profile.js'
import { createCompactJwsParser, type JwsHeader } from './compact-jws.js'
import { importVerificationKey, keyTypeForAlgorithm, keyTypeOf, type VerificationKeyType } from './signature.js'

export interface DpopProofKey {
  key: KeyObject
  keyType: VerificationKeyType
  /** RFC 7638 SHA-256 thumbprint of the proof's public key: what `cnf.jkt` of a bound token names. */
  jkt: string
}

export interface ParsedDpopProof {
  header: Readonly<JwsHeader>
  /** Untrusted until the signature over `signingInput` has been verified with `key`. */
  claims: Record<string, unknown>
  signingInput: Buffer
  signature: Buffer
  key: DpopProofKey
}

export interface DpopClaimRules {
  /** The HTTP method of the request the proof must be for, upper case. */
  htm: string
  /** The URLs the proof may name, already normalised with normaliseHtu. */
  htus: readonly string[]
  /** Now, epoch seconds. */
  now: number
  maxAgeSeconds: number
  leewaySeconds: number
  /** base64url SHA-256 of the access token presented with the proof (resource servers); absent at the token endpoint. */
  ath?: string
}

export interface CheckedDpopClaims {
  jti: string
  iat: number
}

const KEY_CACHE_SIZE = 256

/**
 * A parser of DPoP proofs. A client signs every proof under the same header (same key), so the imported key and its
 * thumbprint are remembered per validated header object (the compact parser caches those by their encoding).
 */
export function createDpopProofParser(): (proof: string) => ParsedDpopProof | Promise<ParsedDpopProof> {
  const parse = createCompactJwsParser({
    maxBytes: SIZE_LIMITS.tokenBytes, allowedAlgorithms: DPOP_ALGORITHMS, expectedTyp: TOKEN_TYPES.dpopProof, embeddedJwk: true,
  })
  const keys = new Map<object, DpopProofKey>()
  return (proof) => {
    let parsed
    try {
      parsed = parse(proof)
    } catch (error) {
      throw proofInvalid('the DPoP proof is malformed', `dpop_${(error as WritError).reasons?.[0] ?? 'malformed'}`)
    }
    const { header } = parsed
    const known = keys.get(header)
    if (known !== undefined) return { ...parsed, key: known }
    return proofKey(header).then((key) => {
      // Only headers the compact parser froze and cached come back as the same object; others are not remembered.
      if (Object.isFrozen(header)) {
        if (keys.size >= KEY_CACHE_SIZE) keys.clear()
        keys.set(header, key)
      }
      return { ...parsed, key }
    })
  }
}

async function proofKey(header: Readonly<JwsHeader>): Promise<DpopProofKey> {
  const jwk = header.jwk as JsonWebKey
  // DPOP-06: a proof that carries a private key (`d`) or a symmetric one (`k`) is refused, never used.
  if (Object.hasOwn(jwk, 'd')) throw proofInvalid('the DPoP proof key is a private key', 'dpop_jwk_private')
  let key: KeyObject
  try {
    key = importVerificationKey(jwk)
  } catch (error) {
    throw proofInvalid('the DPoP proof key is not a supported public key', `dpop_${(error as WritError).reasons?.[0] ?? 'key_malformed'}`)
  }
  const keyType = keyTypeOf(key)
  // No algorithm confusion: the key's type decides, and `alg` must name that same type.
  if (keyType === undefined || keyTypeForAlgorithm(header.alg) !== keyType) {
    throw proofInvalid('the DPoP proof algorithm does not match its key', 'dpop_alg_key_mismatch')
  }
  const jkt = await calculateJwkThumbprint(keyType === 'Ed25519'
    ? { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string }
    : { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string }, 'sha256')
  return { key, keyType, jkt }
}

/** Checks a proof's claims (run only after its signature verified) and returns its `jti` and `iat`. */
export function checkDpopClaims(claims: Record<string, unknown>, rules: DpopClaimRules): CheckedDpopClaims {
  const { jti, htm, htu, iat, ath } = claims
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > DPOP.maxJtiLength) throw proofInvalid('the DPoP proof has no valid jti', 'dpop_jti_invalid')
  // DPOP-07: the method is compared exactly (RFC 9449 §4.3 check 8).
  if (htm !== rules.htm) throw proofInvalid('the DPoP proof is for another method', 'dpop_htm_mismatch')
  // DPOP-08: scheme, host and port normalised, path exact, query and fragment ignored (RFC 9449 §4.3 check 9).
  const normalised = typeof htu === 'string' ? normaliseHtu(htu) : undefined
  if (normalised === undefined || !rules.htus.includes(normalised)) throw proofInvalid('the DPoP proof is for another URL', 'dpop_htu_mismatch')
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat) || iat < 0) throw proofInvalid('the DPoP proof has no valid iat', 'dpop_iat_invalid')
  // DPOP-10: a proof is good for a short window only; one from the future is forged or from a skewed clock.
  if (iat > rules.now + rules.leewaySeconds) throw proofInvalid('the DPoP proof was issued in the future', 'dpop_iat_in_future')
  if (iat < rules.now - rules.maxAgeSeconds) throw proofInvalid('the DPoP proof is too old', 'dpop_iat_too_old')
  if (rules.ath !== undefined) {
    // DPOP-12: the proof must name the very token it is presented with.
    if (ath === undefined) throw proofInvalid('the DPoP proof has no ath', 'dpop_ath_missing')
    if (ath !== rules.ath) throw proofInvalid('the DPoP proof is for another access token', 'dpop_ath_mismatch')
  }
  return { jti, iat }
}

/**
 * The form of a URL that `htu` is compared in: scheme and host lower case, default port dropped (the WHATWG URL parser
 * does both), path as is, no query or fragment. Undefined for anything that is not an absolute http(s) URL.
 */
export function normaliseHtu(value: string): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  return `${url.protocol}//${url.host}${url.pathname}`
}

/** RFC 9449 `ath`: base64url SHA-256 of the access token's ASCII bytes. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'latin1').digest('base64url')
}

export function proofInvalid(detail: string, reason: string): WritError {
  return new WritError('DPOP_PROOF_INVALID', detail, { reasons: [reason] })
}
