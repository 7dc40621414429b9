/** The KeyManager port: signs Writ's tokens with the current key and publishes every key a live token may name. */
import type { JSONWebKeySet } from 'jose'
import type { SigningAlgorithm } from '@writ/sdk'

export interface KeyInfo {
  kid: string
  alg: SigningAlgorithm
  createdAt: number
  /** When a newer key became current; the key stays published until its tokens have expired. */
  retiredAt: number | null
  /** When it was revoked: it is never published again and never signs again. */
  revokedAt: number | null
}

export interface SigningJws {
  /** The key that signs it, chosen when sign() is called: a rotation meanwhile does not change it. */
  kid: string
  /** The compact JWS, once its signature is computed (off the event loop). */
  jws: Promise<string>
}

export interface KeyManager {
  /**
   * Signs a compact JWS with the current key; `typ` names the token type (never interchangeable). The key id is known
   * at once, so a caller can record it (the audit entry) while the signature is computed.
   */
  sign(typ: string, claims: Record<string, unknown>): SigningJws
  /** The public keys to publish: the current key and retired keys whose tokens may still be live. */
  jwks(): JSONWebKeySet
  list(): KeyInfo[]
  current(): KeyInfo
  /** Makes a new key current; the previous one stays published for `overlapMs`. */
  rotate(): Promise<KeyInfo>
  /**
   * Withdraws a key at once: it leaves the JWKS, so every token and grant it signed stops verifying. The caller rotates
   * first when it is the current key; revoking the current key is refused (nothing could sign). Returns false if the
   * kid is unknown or already revoked.
   */
  revoke(kid: string): boolean
}
