/** The KeyManager port: signs Writ's tokens with the current key and publishes every key a live token may name. */
import type { JSONWebKeySet } from 'jose'
import type { SigningAlgorithm } from '@writ/sdk'

export interface KeyInfo {
  kid: string
  alg: SigningAlgorithm
  createdAt: number
  /** When a newer key became current; the key stays published until its tokens have expired. */
  retiredAt: number | null
}

export interface SignedJws {
  jws: string
  /** The key that signed it (a rotation may make another key current meanwhile). */
  kid: string
}

export interface KeyManager {
  /** Signs a compact JWS with the current key; `typ` names the token type (never interchangeable). */
  sign(typ: string, claims: Record<string, unknown>): Promise<SignedJws>
  /** The public keys to publish: the current key and retired keys whose tokens may still be live. */
  jwks(): JSONWebKeySet
  list(): KeyInfo[]
  current(): KeyInfo
  /** Makes a new key current; the previous one stays published for `overlapMs`. */
  rotate(): Promise<KeyInfo>
}
