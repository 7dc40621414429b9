/**
 * verifyApiToken(): the check of Writ's own API token on Writ's own endpoints (the revocation stream): strict parse
 * (`typ` at+jwt), Writ's published key, `iss`, `aud` exactly the issuer, lifetime, the scope, and a resource server
 * that is still registered and not removed. A capability token never passes: its `aud` is a resource server's, never
 * the issuer (the registry refuses that audience), and it has no `scope`.
 */
import { SIGNING_ALGORITHMS, SIZE_LIMITS, TOKEN_TYPES, WritError, createCompactJwsParser } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { OwnSignatureCheck } from '../keys/own-signature.js'
import type { ApiScope } from './api-token.js'
import type { ResourceServerCache } from './resource-server-cache.js'

export interface ApiTokenVerifierDeps {
  signature: OwnSignatureCheck
  resourceServers: Pick<ResourceServerCache, 'get'>
  clock: Clock
  issuer: string
  leewaySeconds: number
  /** The longest lifetime Writ issues (`tokens.ttlSeconds`): a longer-lived token was not issued by this server. */
  maxLifetimeSeconds: number
}

export interface VerifiedApiToken {
  /** The resource server's id. */
  clientId: string
  jti: string
  /** NumericDate seconds. */
  exp: number
}

export type ApiTokenVerifier = (token: string, requiredScope: ApiScope, options?: { dpopJkt?: string }) => Promise<VerifiedApiToken>

const parseApiToken = createCompactJwsParser({
  maxBytes: SIZE_LIMITS.tokenBytes, allowedAlgorithms: SIGNING_ALGORITHMS, expectedTyp: TOKEN_TYPES.capability,
})

/**
 * `options.dpopJkt`: the thumbprint of a DPoP proof the caller has verified for this request. A DPoP-bound API token
 * (`cnf.jkt`) is refused without the matching one, so a stolen bound token is useless as a bearer token.
 */
export function apiTokenVerifier(deps: ApiTokenVerifierDeps): ApiTokenVerifier {
  return async (token, requiredScope, options = {}) => {
    let parsed: ReturnType<typeof parseApiToken>
    try {
      parsed = parseApiToken(token)
    } catch (error) {
      // `alg: none`, HMAC, another typ (a grant, a DPoP proof, an assertion), oversized or malformed: all end here.
      throw invalid('the access token is malformed', `api_token_malformed:${(error as WritError).reasons?.[0] ?? 'invalid'}`)
    }
    const failure = await deps.signature(parsed)
    if (failure !== undefined) throw invalid('the access token was not signed by this server', `api_token_${failure}`)
    const { claims } = parsed
    const now = deps.clock.nowSeconds()
    if (claims.iss !== deps.issuer) throw invalid('the access token is from another issuer', 'api_token_iss_invalid')
    // untrusted: `aud` comes from the token; only the issuer identifier itself is Writ's API audience.
    if (claims.aud !== deps.issuer) throw invalid('the access token is not for this server\'s API', 'api_token_aud_invalid')
    if (!isTime(claims.exp) || !isTime(claims.iat)) throw invalid('the access token lifetime is malformed', 'api_token_time_invalid')
    if (claims.exp + deps.leewaySeconds <= now) throw new WritError('TOKEN_EXPIRED', 'the access token has expired', { reasons: ['api_token_expired'] })
    if (claims.iat - deps.leewaySeconds > now || claims.exp - claims.iat > deps.maxLifetimeSeconds) {
      throw invalid('the access token lifetime is not one this server issues', 'api_token_time_invalid')
    }
    if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 256) throw invalid('the access token has no valid jti', 'api_token_jti_invalid')
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : []
    if (!scopes.includes(requiredScope)) {
      throw new WritError('TOKEN_SCOPE_MISMATCH', `the access token does not grant \`${requiredScope}\``, { reasons: ['api_token_scope_missing'] })
    }
    const clientId = claims.client_id
    if (typeof clientId !== 'string' || claims.sub !== clientId) throw invalid('the access token names no client', 'api_token_client_invalid')
    if (deps.resourceServers.get(clientId)?.server.status !== 'active') {
      throw invalid('the access token\'s resource server is not registered or was removed', 'api_token_client_inactive')
    }
    const cnf = claims.cnf as { jkt?: unknown } | undefined
    if (cnf !== undefined && (typeof cnf?.jkt !== 'string' || cnf.jkt !== options.dpopJkt)) {
      throw invalid('the access token is bound to a DPoP key; present a proof of it', 'api_token_dpop_binding')
    }
    return { clientId, jti: claims.jti, exp: claims.exp }
  }
}

function invalid(detail: string, reason: string): WritError {
  return new WritError('TOKEN_INVALID', detail, { reasons: [reason] })
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}
