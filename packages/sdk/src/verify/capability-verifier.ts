/** The resource server's capability-token verifier: parse strictly, verify the signature, then check the claims. */
import type { JsonWebKey } from 'node:crypto'
import { WritError } from '../errors/writ-error.js'
import { DPOP, LIFETIMES, SIGNING_ALGORITHMS, TOKEN_TYPES, type CapabilityClaims, type WritAction } from '../wire/profile.js'
import { checkCapabilityClaims, type ClaimRules } from './capability-claims.js'
import { createCompactJwsParser, type JwsHeader } from './compact-jws.js'
import { createRemoteKeyResolver, createStaticKeyResolver, type KeyResolver } from './key-resolver.js'
import { keyTypeForAlgorithm, verifyWithKeyType } from './signature.js'
import { systemNowSeconds } from '../clock.js'
import { accessTokenHash, checkDpopClaims, createDpopProofParser, normaliseHtu, proofInvalid } from './dpop-proof.js'
import { createMemoryDpopReplayCache, type DpopReplayCache } from './dpop-replay-cache.js'

export interface CapabilityVerifierOptions {
  /** Writ's issuer identifier, compared with `iss` as an exact string. */
  issuer: string
  /** This resource server's audience identifier(s); the token's `aud` must name one of them. */
  audience: string | readonly string[]
  /** Writ's JWKS URL as a string or URL (https, or http on loopback), or a fixed key set. Never taken from a token header. */
  jwks: string | URL | { keys: readonly JsonWebKey[] }
  /** Accepted `alg` values, a subset of EdDSA, Ed25519 and ES256. Default ['EdDSA']. */
  algorithms?: readonly string[]
  /** Clock skew tolerated on exp, iat and nbf; default 30, at most LIFETIMES.maxLeeway (60). */
  leewaySeconds?: number
  /** Longest accepted `exp - iat`; default and maximum LIFETIMES.capabilityMax (900). */
  maxLifetimeSeconds?: number
  /**
   * Revocation hook, keyed on (iss, jti) and never on the token string (docs/threats.md JWT-24, JWT-28). The verified
   * header comes fourth, so a `key` revocation can match its `kid`. A synchronous answer costs no extra await (the
   * subscribed list of `subscribeRevocations` answers synchronously); a thrown WritError (REVOCATION_STALE) surfaces
   * as is, anything else thrown refuses the token as INTERNAL.
   */
  isRevoked?: (iss: string, jti: string, claims: CapabilityClaims, header: Readonly<JwsHeader>) => boolean | Promise<boolean>
  /** Current time in epoch seconds; for tests. */
  now?: () => number
  /** DPoP (RFC 9449) proofs of bound tokens: how old a proof may be, and where its jtis are remembered. */
  dpop?: {
    /** Oldest accepted proof `iat`, in seconds; default 60, at most 300. */
    maxAgeSeconds?: number
    /** Default: an in-process cache of 100,000 proofs. Several instances of one resource server should share one. */
    replayCache?: DpopReplayCache
  }
}

/** How the token arrived: what a DPoP-bound token is checked against (RFC 9449 §7). */
export interface PresentedRequest {
  /** The Authorization scheme the token came with: `DPoP` or `Bearer` (case-insensitive). */
  scheme: string
  /** The request's `DPoP` header, when it had one. */
  proof?: string | undefined
  /** The request's method, as the client sent it. */
  method: string
  /** The request's absolute URL as the client addressed it (this server's public origin and the path). */
  url: string
}

export interface VerifiedCapability {
  /** Verified claims. When `claims.cnf` is present the token is DPoP-bound and its proof has been checked. */
  claims: CapabilityClaims
  header: Readonly<JwsHeader>
  action: WritAction
  kid: string
}

/** What the request being served does: the token must grant exactly this action on exactly this resource. */
export interface ExpectedCapability {
  /** The action this endpoint performs, e.g. `deploy.run`; compared with the token's action as an exact string. */
  action: string
  /** The resource this request touches, e.g. `service:billing`; compared with the token's resource as an exact string. */
  resource: string
}

/**
 * The escape hatch for a gateway that routes on the action the token names: pass it instead of an expectation and
 * the verifier checks everything except action and resource, which the caller must then check itself. A symbol, so
 * no value parsed from a request can switch the check off, and a named constant, so every use shows in code review.
 */
export const CALLER_CHECKS_SCOPE: unique symbol = Symbol('writ.caller-checks-scope')

export interface CapabilityVerifier {
  /**
   * Verifies `token` and that it grants `expected`. The expectation is a required argument, so a resource server
   * cannot forget it: a token for another action or resource fails with TOKEN_SCOPE_MISMATCH (403 insufficient_scope).
   */
  verify(token: string, expected: ExpectedCapability | typeof CALLER_CHECKS_SCOPE, request?: PresentedRequest): Promise<VerifiedCapability>
}

const MAX_KID_LENGTH = 256

export function createCapabilityVerifier(options: CapabilityVerifierOptions): CapabilityVerifier {
  const settings = checkOptions(options)
  const parse = createCompactJwsParser({ allowedAlgorithms: settings.algorithms, expectedTyp: TOKEN_TYPES.capability })
  const now = options.now ?? systemNowSeconds
  const resolver: KeyResolver = settings.jwksUrl !== undefined
    ? createRemoteKeyResolver(settings.jwksUrl)
    : createStaticKeyResolver((options.jwks as { keys: readonly JsonWebKey[] }).keys)
  const isRevoked = options.isRevoked
  const parseProof = createDpopProofParser()
  const replayCache = options.dpop?.replayCache ?? createMemoryDpopReplayCache()
  const { leewaySeconds } = settings.rules

  /** RFC 9449 §7: a bound token is good only with a proof by its key, for this request and this token. */
  async function checkBinding(token: string, claims: CapabilityClaims, request: PresentedRequest | undefined): Promise<void> {
    const scheme = request?.scheme.toLowerCase()
    if (claims.cnf === undefined) {
      // A DPoP scheme promises a bound token; an unbound one there is a downgrade or a mix-up.
      if (scheme === 'dpop') throw invalid('the token is not DPoP-bound', 'token_not_bound')
      return
    }
    // The whole point of binding: a copied token string alone is worth nothing.
    if (request === undefined) throw proofInvalid('a DPoP-bound token needs a DPoP proof', 'dpop_proof_missing')
    if (scheme !== 'dpop') throw invalid('a DPoP-bound token was presented as a Bearer token', 'dpop_bound_token_as_bearer')
    if (request.proof === undefined || request.proof.length === 0) throw proofInvalid('a DPoP-bound token needs a DPoP proof', 'dpop_proof_missing')
    if (request.proof.includes(',') || request.proof.includes(' ')) throw proofInvalid('more than one DPoP proof was sent', 'dpop_header_repeated')
    const found = parseProof(request.proof)
    const proof = found instanceof Promise ? await found : found
    if (!verifyWithKeyType(proof.key.keyType, proof.key.key, proof.signingInput, proof.signature)) {
      throw proofInvalid('the DPoP proof signature is invalid', 'dpop_signature_invalid')
    }
    const htu = normaliseHtu(request.url)
    if (htu === undefined) throw new TypeError('request.url must be an absolute http(s) url')
    const current = now()
    const { jti, iat } = checkDpopClaims(proof.claims, {
      htm: request.method, htus: [htu], now: current, maxAgeSeconds: settings.dpopMaxAgeSeconds, leewaySeconds, ath: accessTokenHash(token),
    })
    // DPOP-13: the proof key must be the key the token was bound to.
    if (proof.key.jkt !== claims.cnf.jkt) throw proofInvalid('the DPoP proof is signed by another key than the token is bound to', 'dpop_key_mismatch')
    const fresh = await replayCache.use(`${proof.key.jkt} ${jti}`, Math.max(iat, current) + settings.dpopMaxAgeSeconds, current)
    if (!fresh) throw proofInvalid('the DPoP proof was already used', 'dpop_proof_replayed')
  }

  async function verify(
    token: string, expected: ExpectedCapability | typeof CALLER_CHECKS_SCOPE, request?: PresentedRequest,
  ): Promise<VerifiedCapability> {
    // Fail closed on a programmer mistake before looking at the token: a missing expectation never means "any".
    if (expected !== CALLER_CHECKS_SCOPE) checkExpectation(expected)
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
    const action = verified.authorization_details[0]
    // Exact strings: a glob, a prefix, a case or Unicode-normalisation variant in the token is another action.
    if (expected !== CALLER_CHECKS_SCOPE) {
      if (action.action !== expected.action) throw scopeMismatch('the token does not grant this action', 'action_mismatch')
      if (action.resource !== expected.resource) throw scopeMismatch('the token does not grant this resource', 'resource_mismatch')
    }
    // Unbound tokens without a request description skip the DPoP step entirely (the common Bearer hot path).
    if (verified.cnf !== undefined || request !== undefined) await checkBinding(token, verified, request)
    if (isRevoked !== undefined) {
      const answer = askRevoked(isRevoked, verified, header)
      if (answer === true || (answer !== false && (await answer))) {
        throw new WritError('TOKEN_REVOKED', 'the token has been revoked', { reasons: ['jti_revoked'] })
      }
    }
    return { claims: verified, header, action, kid }
  }

  return { verify }
}

// Synchronous when the hook is: an in-memory list answers without a microtask on the hot path.
function askRevoked(
  isRevoked: NonNullable<CapabilityVerifierOptions['isRevoked']>,
  claims: CapabilityClaims,
  header: Readonly<JwsHeader>,
): boolean | Promise<boolean> {
  let answer: boolean | Promise<boolean>
  try {
    answer = isRevoked(claims.iss, claims.jti, claims, header)
  } catch (cause) {
    throw revocationCheckFailed(cause)
  }
  // Fail closed: only an explicit `false` lets the token through.
  if (!(answer instanceof Promise)) return answer !== false
  return answer.then((value) => value !== false, (cause: unknown) => { throw revocationCheckFailed(cause) })
}

// Fail closed: a revocation store that cannot answer never lets a token through.
function revocationCheckFailed(cause: unknown): WritError {
  if (cause instanceof WritError) return cause
  return new WritError('INTERNAL', undefined, { reasons: ['revocation_check_failed'], cause })
}

interface Settings {
  dpopMaxAgeSeconds: number
  algorithms: readonly string[]
  rules: ClaimRules
  jwksUrl: URL | undefined
}

function checkExpectation(expected: ExpectedCapability): void {
  if (expected === null || typeof expected !== 'object') {
    throw new TypeError('verify needs the expected { action, resource }, or CALLER_CHECKS_SCOPE')
  }
  if (typeof expected.action !== 'string' || expected.action.length === 0) throw new TypeError('expected.action must be a non-empty string')
  if (typeof expected.resource !== 'string' || expected.resource.length === 0) throw new TypeError('expected.resource must be a non-empty string')
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
  const dpopMaxAgeSeconds = options.dpop?.maxAgeSeconds ?? DPOP.maxAgeSeconds
  if (!Number.isInteger(dpopMaxAgeSeconds) || dpopMaxAgeSeconds <= 0 || dpopMaxAgeSeconds > DPOP.maxAgeSecondsMax) {
    throw new TypeError(`dpop.maxAgeSeconds must be an integer between 1 and ${DPOP.maxAgeSecondsMax}`)
  }
  if (options.dpop?.replayCache !== undefined && typeof options.dpop.replayCache.use !== 'function') {
    throw new TypeError('dpop.replayCache must have a use() method')
  }
  let jwksUrl: URL | undefined
  if (typeof options.jwks === 'string' || options.jwks instanceof URL) {
    jwksUrl = checkJwksUrl(options.jwks)
  } else if (options.jwks === null || typeof options.jwks !== 'object' || !Array.isArray(options.jwks.keys)) {
    throw new TypeError('jwks must be a URL, a URL string or an object with a keys array')
  }
  return { dpopMaxAgeSeconds, algorithms: [...algorithms], rules: { issuer: options.issuer, audiences: [...audiences], leewaySeconds, maxLifetimeSeconds }, jwksUrl }
}

function checkJwksUrl(value: string | URL): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new TypeError('jwks must be an absolute url')
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
  // Keys fetched over plain http could be swapped in transit; only loopback (tests, sidecars) is exempt.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError('jwks url must use https (http is allowed only on loopback)')
  }
  return url
}

function scopeMismatch(detail: string, reason: string): WritError {
  return new WritError('TOKEN_SCOPE_MISMATCH', detail, { reasons: [reason] })
}

function invalid(detail: string, reason: string): WritError {
  return new WritError('TOKEN_INVALID', detail, { reasons: [reason] })
}
