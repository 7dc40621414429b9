/** RFC 7523 client assertions: the short, single-use JWT an agent signs to authenticate to Writ's token endpoint. */
import { randomUUID, type JsonWebKey } from 'node:crypto'
import { importJWK, SignJWT } from 'jose'
import { LIFETIMES } from '../wire/profile.js'
import { systemNowSeconds } from '../clock.js'

export interface ClientAssertionOptions {
  /** The agent's private key: an Ed25519 OKP or P-256 EC private JWK, optionally with `kid`. */
  privateKey: JsonWebKey
  /** The agent's id or registered name: both `iss` and `sub` (RFC 7523 §3). */
  agentId: string
  /** Writ's issuer identifier, used as `aud`. */
  audience: string
  /** Current time in epoch seconds; for tests. */
  now?: () => number
  /** Default 60 s; the profile caps client assertions at LIFETIMES.clientAssertionMax. */
  lifetimeSeconds?: number
}

interface SigningKey {
  key: Awaited<ReturnType<typeof importJWK>>
  alg: 'EdDSA' | 'ES256'
  kid: string | undefined
}

// Importing a JWK costs more than signing with it; remember the result per JWK object.
const imported = new WeakMap<JsonWebKey, Promise<SigningKey>>()

/** Signs a fresh assertion: a new `jti` every call, because Writ accepts each assertion exactly once. */
export async function signClientAssertion(options: ClientAssertionOptions): Promise<string> {
  const lifetime = options.lifetimeSeconds ?? 60
  if (!Number.isInteger(lifetime) || lifetime <= 0 || lifetime > LIFETIMES.clientAssertionMax) {
    throw new TypeError(`lifetimeSeconds must be an integer between 1 and ${LIFETIMES.clientAssertionMax}`)
  }
  if (typeof options.agentId !== 'string' || options.agentId.length === 0) throw new TypeError('agentId must be a non-empty string')
  const { key, alg, kid } = await signingKey(options.privateKey)
  const iat = (options.now ?? systemNowSeconds)()
  const header = kid === undefined ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid }
  return new SignJWT({})
    .setProtectedHeader(header)
    .setIssuer(options.agentId)
    .setSubject(options.agentId)
    .setAudience(options.audience)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetime)
    .sign(key)
}

function signingKey(jwk: JsonWebKey): Promise<SigningKey> {
  let cached = imported.get(jwk)
  if (cached === undefined) {
    cached = importSigningKey(jwk)
    imported.set(jwk, cached)
  }
  return cached
}

async function importSigningKey(jwk: JsonWebKey): Promise<SigningKey> {
  if (jwk === null || typeof jwk !== 'object') throw new TypeError('privateKey must be a private JWK')
  let alg: SigningKey['alg']
  let material: JsonWebKey
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.d === 'string' && typeof jwk.x === 'string') {
    alg = 'EdDSA'
    material = { kty: 'OKP', crv: 'Ed25519', d: jwk.d, x: jwk.x }
  } else if (
    jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.d === 'string' && typeof jwk.x === 'string' && typeof jwk.y === 'string'
  ) {
    alg = 'ES256'
    material = { kty: 'EC', crv: 'P-256', d: jwk.d, x: jwk.x, y: jwk.y }
  } else {
    throw new TypeError('privateKey must be an Ed25519 (OKP) or P-256 (EC) private JWK')
  }
  const key = await importJWK(material, alg)
  return { key, alg, kid: typeof jwk.kid === 'string' && jwk.kid.length > 0 ? jwk.kid : undefined }
}
