/** The resource server's capability-token verifier: parse strictly, verify the signature, then check the claims. */
import type { JsonWebKey } from 'node:crypto'
import { WritError } from '../errors/writ-error.js'
import { LIFETIMES, SIGNING_ALGORITHMS, TOKEN_TYPES, type CapabilityClaims, type WritAction } from '../wire/profile.js'
import { checkCapabilityClaims, type ClaimRules } from './capability-claims.js'
import { createCompactJwsParser, type JwsHeader } from './compact-jws.js'
import { createRemoteKeyResolver, createStaticKeyResolver, type KeyResolver } from './key-resolver.js'
import { keyTypeForAlgorithm, verifyWithKeyType } from './signature.js'
import { systemNowSeconds } from '../clock.js'

export interface CapabilityVerifierOptions {
  /** Writ's issuer identifier, compared with `iss` as an exact string. */
  issuer: string
  /** This resource server's audience identifier(s); the token's `aud` must name one of them. */
  audience: string | readonly string[]
  /** Writ's JWKS URL (https, or http on loopback) or a fixed key set. Never taken from a token header. */
  jwks: URL | { keys: readonly JsonWebKey[] }
  /** Accepted `alg` values, a subset of EdDSA, Ed25519 and ES256. Default ['EdDSA']. */
  algorithms?: readonly string[]
  /** Clock skew tolerated on exp, iat and nbf; default 30, at most LIFETIMES.maxLeeway (60). */
  leewaySeconds?: number
  /** Longest accepted `exp - iat`; default and maximum LIFETIMES.capabilityMax (900). */
  maxLifetimeSeconds?: number
  /** Revocation hook, keyed on (iss, jti) and never on the token string (docs/threats.md JWT-24, JWT-28). */
  isRevoked?: (iss: string, jti: string, claims: CapabilityClaims) => boolean | Promise<boolean>
  /** Current time in epoch seconds; for tests. */
  now?: () => number
}

export interface VerifiedCapability {
  /** Verified claims. When `claims.cnf` is present the token is DPoP-bound and the caller must check the proof. */
  claims: CapabilityClaims
  header: Readonly<JwsHeader>
  action: WritAction
  kid: string
}

export interface CapabilityVerifier {
  verify(token: string): Promise<VerifiedCapability>
}

const MAX_KID_LENGTH = 256

export function createCapabilityVerifier(options: CapabilityVerifierOptions): CapabilityVerifier {
  const settings = checkOptions(options)
  const parse = createCompactJwsParser({ allowedAlgorithms: settings.algorithms, expectedTyp: TOKEN_TYPES.capability })
  const now = options.now ?? systemNowSeconds
  const resolver: KeyResolver = options.jwks instanceof URL
    ? createRemoteKeyResolver(options.jwks)
    : createStaticKeyResolver(options.jwks.keys)
  const isRevoked = options.isRevoked

  async function verify(token: string): Promise<VerifiedCapability> {
    // Everything before the signature check is crypto-free and touches no network, file or store.
    const { header, claims, signingInput, signature } = parse(token)
    const kid = header.kid
    if (kid === undefined || kid.length === 0) throw invalid('the token has no kid', 'kid_missing')
    if (kid.length > MAX_KID_LENGTH) throw invalid('the token kid is too long', 'kid_invalid')

    const found = resolver.lookup(kid)
    const { key, keyType } = found instanceof Promise ? await found : found
    // No algorithm confusion: the key's type decides, and the token's `alg` must name that same type.
    if (keyTypeForAlgorithm(header.alg) !== keyType) throw invalid('the token algorithm does not match its key', 'alg_key_mismatch')
    if (!verifyWithKeyType(keyType, key, signingInput, signature)) {
      throw invalid('the token signature is invalid', 'signature_invalid')
    }

    // JWT-29: claims are read only from here on, after the signature has verified.
    const verified = checkCapabilityClaims(claims, settings.rules, now())
    if (isRevoked !== undefined && (await askRevoked(isRevoked, verified))) {
      throw new WritError('TOKEN_REVOKED', 'the token has been revoked', { reasons: ['jti_revoked'] })
    }
    return { claims: verified, header, action: verified.authorization_details[0], kid }
  }

  return { verify }
}

async function askRevoked(
  isRevoked: NonNullable<CapabilityVerifierOptions['isRevoked']>,
  claims: CapabilityClaims,
): Promise<boolean> {
  try {
    // Fail closed: only an explicit `false` lets the token through.
    return (await isRevoked(claims.iss, claims.jti, claims)) !== false
  } catch (cause) {
    // Fail closed: a revocation store that cannot answer never lets a token through.
    if (cause instanceof WritError) throw cause
    throw new WritError('INTERNAL', undefined, { reasons: ['revocation_check_failed'], cause })
  }
}

interface Settings {
  algorithms: readonly string[]
  rules: ClaimRules
}

/** Programmer mistakes in the options are TypeErrors at construction, never surprises at request time. */
function checkOptions(options: CapabilityVerifierOptions): Settings {
  if (typeof options.issuer !== 'string' || options.issuer.length === 0) throw new TypeError('issuer must be a non-empty string')
  const audiences = typeof options.audience === 'string' ? [options.audience] : options.audience
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((a) => typeof a === 'string' && a.length > 0)) {
    throw new TypeError('audience must be a non-empty string or a non-empty array of them')
  }
  const algorithms = options.algorithms ?? ['EdDSA']
  const supported: readonly string[] = [...SIGNING_ALGORITHMS, 'Ed25519']
  if (algorithms.length === 0 || !algorithms.every((alg) => supported.includes(alg))) {
    throw new TypeError(`algorithms must be a non-empty subset of ${supported.join(', ')}`)
  }
  const leewaySeconds = options.leewaySeconds ?? 30
  if (!Number.isFinite(leewaySeconds) || leewaySeconds < 0 || leewaySeconds > LIFETIMES.maxLeeway) {
    throw new TypeError(`leewaySeconds must be between 0 and ${LIFETIMES.maxLeeway}`)
  }
  const maxLifetimeSeconds = options.maxLifetimeSeconds ?? LIFETIMES.capabilityMax
  if (!Number.isInteger(maxLifetimeSeconds) || maxLifetimeSeconds <= 0 || maxLifetimeSeconds > LIFETIMES.capabilityMax) {
    throw new TypeError(`maxLifetimeSeconds must be an integer between 1 and ${LIFETIMES.capabilityMax}`)
  }
  if (options.isRevoked !== undefined && typeof options.isRevoked !== 'function') throw new TypeError('isRevoked must be a function')
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('now must be a function')
  if (options.jwks instanceof URL) {
    checkJwksUrl(options.jwks)
  } else if (options.jwks === null || typeof options.jwks !== 'object' || !Array.isArray(options.jwks.keys)) {
    throw new TypeError('jwks must be a URL or an object with a keys array')
  }
  return { algorithms: [...algorithms], rules: { issuer: options.issuer, audiences: [...audiences], leewaySeconds, maxLifetimeSeconds } }
}

function checkJwksUrl(url: URL): void {
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
  // Keys fetched over plain http could be swapped in transit; only loopback (tests, sidecars) is exempt.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError('jwks url must use https (http is allowed only on loopback)')
  }
}

function invalid(detail: string, reason: string): WritError {
  return new WritError('TOKEN_INVALID', detail, { reasons: [reason] })
}
