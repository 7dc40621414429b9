/**
 * What the Node and Hono middlewares share: read `Authorization` (Bearer or DPoP) and `DPoP` from a request, verify the
 * token and, for a bound token, its proof, against this server's public origin; and render a refusal (RFC 6750 §3,
 * RFC 9449 §7.1) that never echoes the token or the proof.
 */
import { WritError } from '../errors/writ-error.js'
import { DPOP, DPOP_ALGORITHMS } from '../wire/profile.js'
import type { CALLER_CHECKS_SCOPE, CapabilityVerifier, ExpectedCapability, VerifiedCapability } from '../verify/capability-verifier.js'

export interface CapabilityGuardOptions<R> {
  verifier: CapabilityVerifier
  /**
   * This server's public origin as clients address it (`https://api.example.com`): a proof's `htu` must be it plus the
   * request's path. Configured, never read from `Host`, which the client chooses.
   */
  origin: string
  /** The action and resource this request performs; CALLER_CHECKS_SCOPE only for a gateway that checks them itself. */
  expected: (request: R) => ExpectedCapability | typeof CALLER_CHECKS_SCOPE
}

export interface GuardedRequest {
  method: string
  /** Path and query as received (`/deploy?x=1`); the query is not part of `htu`. */
  path: string
  authorization: string | undefined
  dpop: string | undefined
}

export interface Refusal {
  status: number
  headers: Record<string, string>
  body: string
}

const AUTHORIZATION = /^(Bearer|DPoP) +([A-Za-z0-9._~+/-]+=*)$/i

export function checkOrigin(origin: string): string {
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    throw new TypeError('origin must be an absolute http(s) url')
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new TypeError('origin must be a scheme, host and optional port only, e.g. https://api.example.com')
  }
  return url.origin
}

export async function guard(verifier: CapabilityVerifier, origin: string, request: GuardedRequest, expected: ExpectedCapability | typeof CALLER_CHECKS_SCOPE): Promise<VerifiedCapability> {
  const match = request.authorization === undefined ? null : AUTHORIZATION.exec(request.authorization)
  if (match === null) throw new WritError('TOKEN_INVALID', 'a capability token is required', { reasons: ['token_missing'] })
  const [, scheme, token] = match as unknown as [string, string, string]
  return verifier.verify(token, expected, { scheme, proof: request.dpop, method: request.method, url: `${origin}${request.path}` })
}

/**
 * The answer to a refused request: 401 with a challenge, 403 for a token of another scope, 503 when keys are
 * unreachable or the revocation list is not known to be current (strict mode: the client may retry shortly).
 */
export function refusal(error: unknown, request: GuardedRequest): Refusal {
  const writ = error instanceof WritError ? error : undefined
  const code = writ?.code
  const dpop = code === 'DPOP_PROOF_INVALID' || /^dpop\b/i.test(request.authorization ?? '')
  let status = 401
  let oauth = 'invalid_token'
  if (code === 'DPOP_PROOF_INVALID') oauth = 'invalid_dpop_proof'
  else if (code === 'TOKEN_SCOPE_MISMATCH') [status, oauth] = [403, 'insufficient_scope']
  else if (code === 'JWKS_UNAVAILABLE' || code === 'SERVER_UNAVAILABLE' || code === 'REVOCATION_STALE') [status, oauth] = [503, 'temporarily_unavailable']
  else if (writ === undefined || code === 'INTERNAL') [status, oauth] = [500, 'server_error']
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' }
  if (status === 401 || status === 403) {
    headers['www-authenticate'] = dpop
      ? `${DPOP.scheme} error="${oauth}", algs="${DPOP_ALGORITHMS.join(' ')}"`
      : `Bearer error="${oauth}"`
  }
  const body = status === 500
    ? { error: oauth }
    : { error: oauth, error_description: writ?.detail ?? '', writ_code: code, reasons: writ?.reasons ?? [] }
  return { status, headers, body: JSON.stringify(body) }
}
