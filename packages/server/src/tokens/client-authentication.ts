/** RFC 7523 private_key_jwt: authenticates an agent by an assertion signed with its own key. No shared secrets. */
import type { KeyObject } from 'node:crypto'
import { ASSERTION_ALGORITHMS, CLIENT_ASSERTION_TYPE, SIZE_LIMITS, WritError, createCompactJwsParser, verifyJwsSignatureAsync } from '@writ/sdk'
import type { AgentCache, CachedAgent } from '../agents/agent-cache.js'
import type { Clock } from '../clock.js'

export interface ClientAuthenticationInput {
  clientId?: string
  assertionType?: string
  assertion?: string
}

export interface AuthenticatedClient {
  cached: CachedAgent
  /**
   * The assertion's jti and expiry, recorded once in the replay store with the request's outcome; absent for a
   * reusable external token. `replayScope` replaces the agent id in the replay key (a provider's tokens share one).
   */
  assertion?: { jti: string; expiresAtMs: number; replayScope?: string }
  /** Set when an external token authenticated the agent: what the audit record names (never the token). */
  federation?: FederationEvidence
}

export interface FederationEvidence {
  provider: string
  iss: string
  sub: string
  jti?: string
}

/** Port: authenticates an agent by a token from a trusted outside issuer (federation/ implements it). */
export interface ExternalClientAuthenticator {
  /** True when the assertion names a trusted outside issuer, so it is not the agent's own private_key_jwt. */
  handles(assertion: string): boolean
  authenticate(clientId: string | undefined, assertion: string): Promise<AuthenticatedClient>
}

export interface ClientAuthenticationDeps {
  agents: AgentCache
  clock: Clock
  /** Accepted `aud` values: the issuer identifier and the token endpoint URL; nothing else. */
  audiences: readonly string[]
  maxAgeSeconds: number
  leewaySeconds: number
  /** Workload identity federation; absent when no trust provider is configured. */
  external?: ExternalClientAuthenticator
}

/** Thrown failures carry a machine-readable reason and, when known, the claimed agent id (for the audit record). */
export class ClientAuthenticationError extends WritError {
  /**
   * `hideReasons`: the reason goes to the audit record only, never into the response (a federated token's mismatch
   * would otherwise tell a prober which claim to change). `error`: answer with that error (e.g. an issuer that is down).
   */
  constructor(reason: string, readonly claimedAgentId: string | undefined, readonly options: { hideReasons?: boolean; error?: WritError } = {}) {
    super('CLIENT_AUTHENTICATION_FAILED', 'client authentication failed', { reasons: [reason] })
  }

  /** What the caller is told. */
  response(): WritError {
    if (this.options.error) return this.options.error
    return this.options.hideReasons ? new WritError('CLIENT_AUTHENTICATION_FAILED', 'client authentication failed') : this
  }
}

const SUPPORTED_TYP = new Set(['jwt', 'application/jwt'])
// An agent signs every assertion under the same header, so the parser remembers validated headers by their encoding.
const parseAssertion = createCompactJwsParser({ maxBytes: SIZE_LIMITS.tokenBytes, allowedAlgorithms: ASSERTION_ALGORITHMS })

export async function authenticateClient(input: ClientAuthenticationInput, deps: ClientAuthenticationDeps): Promise<AuthenticatedClient> {
  if (input.assertionType !== CLIENT_ASSERTION_TYPE || !input.assertion) {
    throw new ClientAuthenticationError('client_assertion_missing', input.clientId)
  }
  if (deps.external?.handles(input.assertion)) return deps.external.authenticate(input.clientId, input.assertion)
  let parsed: ReturnType<typeof parseAssertion>
  try {
    parsed = parseAssertion(input.assertion)
  } catch (error) {
    throw new ClientAuthenticationError(`assertion_malformed:${(error as WritError).reasons?.[0] ?? 'invalid'}`, input.clientId)
  }
  const { header, claims } = parsed
  // Cross-JWT confusion: an access token, DPoP proof or sudo token is never a client assertion.
  if (header.typ !== undefined && !SUPPORTED_TYP.has(String(header.typ).toLowerCase())) {
    throw new ClientAuthenticationError('assertion_typ_invalid', input.clientId)
  }
  // The agent names itself by id or by its registered name, the same string in client_id, iss and sub.
  const claimed = claims.iss
  if (typeof claimed !== 'string' || claimed.length === 0 || claimed.length > 128 || claims.sub !== claimed) {
    throw new ClientAuthenticationError('assertion_iss_sub_invalid', input.clientId)
  }
  if (input.clientId !== undefined && input.clientId !== claimed) {
    throw new ClientAuthenticationError('client_id_mismatch', input.clientId)
  }
  // An id first, so the usual path costs one cache lookup as before; a name is only a way to find the agent, and the
  // signature below must still verify with that agent's registered key. Everything after this line (replay key,
  // token client_id and sub, audit) uses the resolved id, so a name and an id never count as two clients.
  const cached = (await deps.agents.get(claimed)) ?? (await deps.agents.getByName(claimed))
  if (!cached) throw new ClientAuthenticationError('agent_unknown', claimed)
  const agentId = cached.agent.id

  const key = pickKey(cached, header.kid, header.alg as string)
  if (!key) throw new ClientAuthenticationError('assertion_key_unknown', agentId)
  // Signature before any claim is trusted; the claims above only chose which registered key to try.
  if (!(await verifyJwsSignatureAsync(header.alg as string, key, parsed.signingInput, parsed.signature))) {
    throw new ClientAuthenticationError('assertion_signature_invalid', agentId)
  }
  return { cached, assertion: checkClaims(claims, agentId, deps) }
}

function pickKey(cached: CachedAgent, kid: unknown, alg: string): KeyObject | undefined {
  let key: KeyObject | undefined
  if (typeof kid === 'string') key = cached.keys.get(kid)
  else if (kid === undefined && cached.keys.size === 1) key = cached.keys.values().next().value
  if (!key) return undefined
  // Algorithm confusion: the algorithm must fit the registered key's type.
  const type = key.asymmetricKeyType
  const fits = type === 'ed25519' ? alg === 'EdDSA' || alg === 'Ed25519' : type === 'ec' && alg === 'ES256'
  return fits ? key : undefined
}

function checkClaims(claims: Record<string, unknown>, agentId: string, deps: ClientAuthenticationDeps): AuthenticatedClient['assertion'] {
  const now = deps.clock.nowSeconds()
  const { exp, iat, nbf, jti, aud } = claims
  const fail = (reason: string): never => { throw new ClientAuthenticationError(reason, agentId) }
  // untrusted: `aud` comes from the presented assertion; compare with the configured values, never with itself.
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.length > 0 ? aud : undefined
  if (!audiences || !audiences.every((a) => typeof a === 'string' && deps.audiences.includes(a))) fail('assertion_aud_invalid')
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) fail('assertion_jti_invalid')
  if (!isTime(exp)) return fail('assertion_exp_invalid')
  if (exp + deps.leewaySeconds <= now) fail('assertion_expired')
  if (iat !== undefined && (!isTime(iat) || iat - deps.leewaySeconds > now)) fail('assertion_iat_invalid')
  if (nbf !== undefined && (!isTime(nbf) || nbf - deps.leewaySeconds > now)) fail('assertion_not_yet_valid')
  // Short-lived: the assertion may not live longer than the profile allows, measured from iat or from now.
  const start = isTime(iat) ? iat : now
  if (exp - start > deps.maxAgeSeconds) fail('assertion_lifetime_too_long')
  return { jti: jti as string, expiresAtMs: (exp + deps.leewaySeconds) * 1000 }
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}
