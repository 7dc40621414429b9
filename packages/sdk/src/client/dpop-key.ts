/** The agent's DPoP key (RFC 9449): generated with node:crypto or supplied, and the proofs it signs, one per request. */
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomUUID, type JsonWebKey } from 'node:crypto'
import { calculateJwkThumbprint, SignJWT } from 'jose'
import { systemNowSeconds } from '../clock.js'
import { DPOP, TOKEN_TYPES } from '../wire/profile.js'
import { accessTokenHash } from '../verify/dpop-proof.js'

export interface DpopKey {
  /** Signs proofs; never leaves the process. */
  readonly privateKey: KeyObject
  /** The public JWK placed in every proof header (public members only). */
  readonly publicJwk: Readonly<JsonWebKey>
  readonly alg: 'EdDSA' | 'ES256'
  /** RFC 7638 thumbprint: the `cnf.jkt` of tokens bound to this key. */
  readonly jkt: string
}

/**
 * A DPoP key from an Ed25519 or P-256 private key (KeyObject or private JWK), or a fresh Ed25519 key when none is
 * given. A fresh key lives as long as the process: tokens bound to it are useless to anyone who copies them.
 */
export async function createDpopKey(privateKey?: KeyObject | JsonWebKey): Promise<DpopKey> {
  const key = privateKey === undefined ? generateKeyPairSync('ed25519').privateKey : toPrivateKey(privateKey)
  const full = createPublicKey(key).export({ format: 'jwk' })
  let publicJwk: JsonWebKey
  let alg: DpopKey['alg']
  if (key.asymmetricKeyType === 'ed25519') {
    publicJwk = { kty: 'OKP', crv: 'Ed25519', x: full.x as string }
    alg = 'EdDSA'
  } else if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    publicJwk = { kty: 'EC', crv: 'P-256', x: full.x as string, y: full.y as string }
    alg = 'ES256'
  } else {
    throw new TypeError('a DPoP key must be an Ed25519 or P-256 private key')
  }
  const jkt = await calculateJwkThumbprint(publicJwk as Parameters<typeof calculateJwkThumbprint>[0], 'sha256')
  return Object.freeze({ privateKey: key, publicJwk: Object.freeze(publicJwk), alg, jkt })
}

export interface DpopProofOptions {
  /** The request's method, e.g. `POST`. */
  htm: string
  /** The request's URL; query and fragment are dropped as RFC 9449 §4.2 says. */
  htu: string
  /** The access token sent with the request, for a resource server (`ath`); absent at the token endpoint. */
  accessToken?: string
  /** A `DPoP-Nonce` the server asked for. */
  nonce?: string
  /** Current time in epoch seconds; for tests. */
  now?: () => number
}

/** Signs a fresh proof: a new `jti` every call, since a server accepts each proof once. */
export async function signDpopProof(key: DpopKey, options: DpopProofOptions): Promise<string> {
  const url = new URL(options.htu)
  const claims: Record<string, unknown> = { htm: options.htm, htu: `${url.protocol}//${url.host}${url.pathname}` }
  if (options.accessToken !== undefined) claims.ath = accessTokenHash(options.accessToken)
  if (options.nonce !== undefined) claims.nonce = options.nonce
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, typ: TOKEN_TYPES.dpopProof, jwk: { ...key.publicJwk } })
    .setJti(randomUUID())
    .setIssuedAt((options.now ?? systemNowSeconds)())
    .sign(key.privateKey)
}

/** `Authorization` and `DPoP` headers for a call to a resource server with a DPoP-bound token. */
export async function dpopRequestHeaders(
  key: DpopKey, accessToken: string, request: { method: string; url: string; now?: () => number },
): Promise<{ authorization: string; dpop: string }> {
  const proof = await signDpopProof(key, {
    htm: request.method, htu: request.url, accessToken, ...(request.now !== undefined && { now: request.now }),
  })
  return { authorization: `${DPOP.scheme} ${accessToken}`, dpop: proof }
}

function toPrivateKey(value: KeyObject | JsonWebKey): KeyObject {
  if (value instanceof KeyObject) {
    if (value.type !== 'private') throw new TypeError('a DPoP key must be a private key')
    return value
  }
  if (value !== null && typeof value === 'object' && typeof (value as JsonWebKey).d === 'string') {
    return createPrivateKey({ key: value as JsonWebKey, format: 'jwk' })
  }
  throw new TypeError('a DPoP key must be a private KeyObject or a private JWK')
}
