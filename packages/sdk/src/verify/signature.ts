/** JWS signature checks on node:crypto for the two key types Writ accepts: Ed25519 (EdDSA) and P-256 (ES256). */
import { createPublicKey, verify, type JsonWebKey, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto'
import { WritError } from '../errors/writ-error.js'
import { isCanonicalBase64url } from './compact-jws.js'

export type VerificationKeyType = 'Ed25519' | 'P-256'

// JWK members that only a private or symmetric key carries: a verifier must never hold one (RFC 7517 §9.2).
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/**
 * Imports a public JWK for signature checks. Only OKP/Ed25519 and EC/P-256 keys are accepted; private, symmetric
 * and unknown keys are refused with KEY_NOT_FOUND, so a JWKS cannot smuggle in an HMAC secret or an RSA key.
 */
export function importVerificationKey(jwk: JsonWebKey): KeyObject {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw unusable('key_malformed')
  for (const member of SECRET_MEMBERS) {
    if (Object.hasOwn(jwk, member)) throw unusable(member === 'k' ? 'key_type_unsupported' : 'key_private')
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') throw unusable('key_use_not_sig')
  const keyOps: unknown = jwk.key_ops
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) throw unusable('key_ops_not_verify')

  let material: JsonWebKey
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && isCoordinate(jwk.x)) {
    material = { kty: 'OKP', crv: 'Ed25519', x: jwk.x }
  } else if (jwk.kty === 'EC' && jwk.crv === 'P-256' && isCoordinate(jwk.x) && isCoordinate(jwk.y)) {
    material = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }
  } else {
    throw unusable('key_type_unsupported')
  }
  try {
    // Only the public members are passed on, so nothing else in the JWK can influence the key.
    return createPublicKey({ key: material, format: 'jwk' })
  } catch (cause) {
    throw new WritError('KEY_NOT_FOUND', 'the key is not a valid public key', { reasons: ['key_malformed'], cause })
  }
}

/** The key type an algorithm needs; undefined for every algorithm Writ does not verify. */
export function keyTypeForAlgorithm(alg: string): VerificationKeyType | undefined {
  // RFC 9864: `Ed25519` is the fully specified name of what `EdDSA` means with an Ed25519 key.
  if (alg === 'EdDSA' || alg === 'Ed25519') return 'Ed25519'
  if (alg === 'ES256') return 'P-256'
  return undefined
}

export function keyTypeOf(key: KeyObject): VerificationKeyType | undefined {
  if (key.type !== 'public') return undefined
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'P-256'
  return undefined
}

/**
 * Checks a JWS signature. Returns false for a bad signature, a wrong length, or an algorithm that does not match
 * the key's type (no algorithm confusion); it never throws for anything a token can contain.
 */
export function verifyJwsSignature(alg: string, key: KeyObject, signingInput: Uint8Array, signature: Uint8Array): boolean {
  const keyType = keyTypeForAlgorithm(alg)
  if (keyType === undefined || keyTypeOf(key) !== keyType) return false
  return verifyWithKeyType(keyType, key, signingInput, signature)
}

/**
 * verifyJwsSignature on libuv's thread pool: the same checks and answers, but the curve arithmetic runs off the
 * event loop, so a server verifying one assertion per request keeps its main thread for everything else.
 */
export function verifyJwsSignatureAsync(alg: string, key: KeyObject, signingInput: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const keyType = keyTypeForAlgorithm(alg)
  if (keyType === undefined || keyTypeOf(key) !== keyType || !hasJwsLength(signature)) return Promise.resolve(false)
  const [algorithm, keyInput] = verifyArguments(keyType, key)
  return new Promise((resolve) => {
    try {
      verify(algorithm, signingInput, keyInput, signature, (error, ok) => resolve(error === null && ok))
    } catch {
      resolve(false)
    }
  })
}

/** The hot path once the caller has matched `keyType` to the key; see verifyJwsSignature. */
export function verifyWithKeyType(
  keyType: VerificationKeyType,
  key: KeyObject,
  signingInput: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!hasJwsLength(signature)) return false
  const [algorithm, keyInput] = verifyArguments(keyType, key)
  try {
    return verify(algorithm, signingInput, keyInput, signature)
  } catch {
    return false
  }
}

// Both encodings are exactly 64 bytes: Ed25519 R‖S (RFC 8032) and ES256 r‖s (RFC 7518 §3.4), never DER.
function hasJwsLength(signature: Uint8Array): boolean {
  return signature.length === 64
}

/** node:crypto's digest and key arguments for a JWS signature of this key type. */
function verifyArguments(keyType: VerificationKeyType, key: KeyObject): [string | null, KeyObject | VerifyKeyObjectInput] {
  return keyType === 'Ed25519' ? [null, key] : ['sha256', { key, dsaEncoding: 'ieee-p1363' }]
}

function isCoordinate(value: unknown): value is string {
  return typeof value === 'string' && value.length === 43 && isCanonicalBase64url(value)
}

function unusable(reason: string): WritError {
  return new WritError('KEY_NOT_FOUND', 'the key is not a supported public verification key', { reasons: [reason] })
}
