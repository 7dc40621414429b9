/**
 * RFC 7523 private_key_jwt: authenticates a registered client (an agent or a resource server) by an assertion signed
 * with its own key. One mechanism for both, no shared secrets.
 */
import type { KeyObject } from 'node:crypto'
import { ASSERTION_ALGORITHMS, CLIENT_ASSERTION_TYPE, SIZE_LIMITS, WritError, createCompactJwsParser, verifyJwsSignatureAsync } from '@writ/sdk'
import type { AgentCache, CachedAgent } from '../agents/agent-cache.js'
import type { Clock } from '../clock.js'
import type { CachedResourceServer, ResourceServerCache } from '../resource-servers/resource-server-cache.js'

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

/** A resource server authenticated by its own private_key_jwt (it has no other way to authenticate). */
export interface AuthenticatedResourceServer {
  resourceServer: CachedResourceServer
  assertion: { jti: string; expiresAtMs: number }
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
  /** Registered resource servers: looked up only when no agent has the id (ids are UUIDs in one namespace). */
  resourceServers?: Pick<ResourceServerCache, 'get' | 'getByName'>
}

/** Thrown failures carry a machine-readable reason and, when known, the claimed agent id (for the audit record). */
export class ClientAuthenticationError extends WritError {
  /**
   * `hideReasons`: the reason goes to the audit record only, never into the response (a federated token's mismatch
   * would otherwise tell a prober which claim to change). `error`: answer with that error (e.g. an issuer that is down).
   */
  constructor(
    reason: string, readonly claimedAgentId: string | undefined,
    readonly options: {
      hideReasons?: boolean; error?: WritError; actorKind?: 'agent' | 'resource_server'
      /** A verified assertion refused for what its client asked: spent with the refusal (single use means single use). */
      spent?: { clientId: string; jti: string; expiresAtMs: number }
    } = {},
  ) {
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

/** Authenticates an agent; a resource server's valid assertion is refused here (it may only ask for Writ's API token). */
export async function authenticateClient(input: ClientAuthenticationInput, deps: ClientAuthenticationDeps): Promise<AuthenticatedClient> {
  const caller = await authenticateCaller(input, deps)
  if ('cached' in caller) return caller
  throw new ClientAuthenticationError('client_not_agent', caller.resourceServer.server.id, {
    actorKind: 'resource_server',
    spent: { clientId: caller.resourceServer.server.id, ...caller.assertion },
    error: new WritError('CLIENT_UNAUTHORIZED', 'a resource server may only ask for Writ\'s API scope (writ:revocations)', { reasons: ['client_not_agent'] }),
  })
}

/** Authenticates whichever registered client signed the assertion: an agent (looked up first) or a resource server. */
export async function authenticateCaller(
  input: ClientAuthenticationInput, deps: ClientAuthenticationDeps,
): Promise<AuthenticatedClient | AuthenticatedResourceServer> {
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
  // The client names itself by id or by its registered name, the same string in client_id, iss and sub.
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
  // Only when no agent matched: resource servers are a map lookup in memory, so the agents' path costs nothing more.
  const server = cached ? undefined : deps.resourceServers?.get(claimed) ?? deps.resourceServers?.getByName(claimed)
  if (!cached && !server) throw new ClientAuthenticationError('agent_unknown', claimed)
  if (server && server.server.status !== 'active') {
    throw new ClientAuthenticationError('resource_server_removed', server.server.id, { actorKind: 'resource_server' })
  }
  const clientId = cached ? cached.agent.id : (server as CachedResourceServer).server.id
  const keys = cached ? cached.keys : (server as CachedResourceServer).keys
  const actorKind = cached ? {} : { actorKind: 'resource_server' as const }

  const key = pickKey(keys, header.kid, header.alg as string)
  if (!key) throw new ClientAuthenticationError('assertion_key_unknown', clientId, actorKind)
  // Signature before any claim is trusted; the claims above only chose which registered key to try.
  if (!(await verifyJwsSignatureAsync(header.alg as string, key, parsed.signingInput, parsed.signature))) {
    throw new ClientAuthenticationError('assertion_signature_invalid', clientId, actorKind)
  }
  const assertion = checkClaims(claims, clientId, deps, actorKind)
  return cached ? { cached, assertion } : { resourceServer: server as CachedResourceServer, assertion }
}

function pickKey(keys: Map<string, KeyObject>, kid: unknown, alg: string): KeyObject | undefined {
  let key: KeyObject | undefined
  if (typeof kid === 'string') key = keys.get(kid)
  else if (kid === undefined && keys.size === 1) key = keys.values().next().value
  if (!key) return undefined
  // Algorithm confusion: the algorithm must fit the registered key's type.
  const type = key.asymmetricKeyType
  const fits = type === 'ed25519' ? alg === 'EdDSA' || alg === 'Ed25519' : type === 'ec' && alg === 'ES256'
  return fits ? key : undefined
}

function checkClaims(
  claims: Record<string, unknown>, clientId: string, deps: ClientAuthenticationDeps, actorKind: { actorKind?: 'resource_server' },
): { jti: string; expiresAtMs: number } {
  const now = deps.clock.nowSeconds()
  const { exp, iat, nbf, jti, aud } = claims
  const fail = (reason: string): never => { throw new ClientAuthenticationError(reason, clientId, actorKind) }
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
