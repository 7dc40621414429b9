/**
 * Checks that a parsed JWS was signed by one of Writ's own published keys (the current one or a retired one whose
 * tokens may still be live): for Writ's endpoints that take back a token Writ issued (its API token, revocation,
 * introspection). A key that left the JWKS (rotated out, or revoked) verifies nothing any more.
 */
import type { JsonWebKey, KeyObject } from 'node:crypto'
import { importVerificationKey, keyTypeForAlgorithm, keyTypeOf, verifyJwsSignatureAsync, type ParsedCompactJws } from '@writ/sdk'
import type { KeyManager } from './key-manager.js'

/** Resolves to undefined when the signature verifies with a published key, otherwise to the reason it does not. */
export type OwnSignatureCheck = (parsed: ParsedCompactJws) => Promise<'key_unknown' | 'alg_key_mismatch' | 'signature_invalid' | undefined>

export function ownSignatureCheck(keys: Pick<KeyManager, 'jwks'>): OwnSignatureCheck {
  // A kid is an RFC 7638 thumbprint, so the key it names never changes; keys are imported once.
  const imported = new Map<string, KeyObject>()
  return async ({ header, signingInput, signature }) => {
    const kid = header.kid
    const jwk = typeof kid === 'string' ? keys.jwks().keys.find((k) => k.kid === kid) : undefined
    if (jwk === undefined) return 'key_unknown'
    let key = imported.get(kid as string)
    if (key === undefined) {
      key = importVerificationKey(jwk as JsonWebKey)
      imported.set(kid as string, key)
    }
    // Algorithm confusion: the token's alg must fit the key's type.
    if (keyTypeForAlgorithm(header.alg) !== keyTypeOf(key)) return 'alg_key_mismatch'
    return (await verifyJwsSignatureAsync(header.alg, key, signingInput, signature)) ? undefined : 'signature_invalid'
  }
}
