/** HTTP adapter of the token endpoint, the RFC 8414 metadata and the JWKS (the public API). */
import { Hono, type Context } from 'hono'
import { DPOP, DPOP_ALGORITHMS, GRANT_TYPES, SIZE_LIMITS, TOKEN_TYPE_IDS, WRIT_ACTION_TYPE, WritError, type AuthorizationServerMetadata, type GrantClaims, type WritAction } from '@writ/sdk'
import { oauthErrorResponse, toWritError } from '../errors/error-responses.js'
import type { KeyManager } from '../keys/key-manager.js'
import type { Logger } from '../logger.js'
import { readForm } from '../http/read-form.js'
import { parseAuthorizationDetails, taskSchema, type CapabilityRequest } from './capability.js'
import { mintCapability, type MintDeps } from './mint.js'
import { jwtBearerGrant } from './jwt-bearer-grant.js'
import { idJagGrant, isIdJag } from '../federation/id-jag-grant.js'
import { redeemApproval } from '../oversight/redeem-approval.js'
import type { RateLimits } from '../rate-limits/rate-limits.js'
import { tokenExchange, type TokenExchangeDeps } from '../delegation/token-exchange.js'
import type { Audiences } from '../resource-servers/audiences.js'
import { issueApiToken } from '../resource-servers/api-token.js'

export interface TokenRoutesDeps {
  mint: MintDeps
  keys: KeyManager
  logger: Logger
  issuer: string
  /** Audiences a request may name with `resource` (RFC 8707): registered resource servers, then the configured list. */
  audiences: Audiences
  /** The peer address of a request (the TCP peer, never a header): its rate-limit key and policy context. */
  remoteAddress: (c: Context) => string | undefined
  /** True once the audit self-check found the chain broken (and halting is configured): a field read, no I/O. */
  issuanceHalted: () => boolean
  rateLimits: Pick<RateLimits, 'admitAddress'>
  /** RFC 8693 token exchange: delegation grants in, capability tokens or narrower grants out (delegation/). */
  exchange: Omit<TokenExchangeDeps, 'mint' | 'audiences'>
}

export function tokenRoutes(deps: TokenRoutesDeps): Hono {
  const app = new Hono()
  const metadata = authorizationServerMetadata(deps.issuer)

  app.get('/.well-known/oauth-authorization-server', (c) => c.json(metadata, 200, { 'cache-control': 'public, max-age=300' }))
  app.get('/.well-known/jwks.json', (c) => c.json(deps.keys.jwks(), 200, { 'cache-control': 'public, max-age=60' }))

  app.post('/oauth/token', async (c) => {
    try {
      // Fail closed, as for a failed audit write: no token (direct or approved) while the chain does not verify.
      if (deps.issuanceHalted()) throw new WritError('AUDIT_CHAIN_BROKEN', 'the audit chain does not verify; no tokens are issued until it is repaired')
      const peer = deps.remoteAddress(c)
      // DOS-01/02, in this order: the address's bucket before the body is read or any signature checked (a flood from
      // one address costs a map lookup per request); the agent's bucket only after its assertion verified (mint.ts), so
      // that nobody can starve an agent by sending requests that merely claim its id.
      deps.rateLimits.admitAddress(peer)
      const form = await readForm(c, SIZE_LIMITS.tokenEndpointBodyBytes)
      const grantType = form.get('grant_type')
      const dpop = c.req.header('dpop')
      const client = {
        clientId: form.get('client_id'), assertionType: form.get('client_assertion_type'), assertion: form.get('client_assertion'),
        ...(dpop !== undefined ? { dpop } : {}),
      }
      let result
      if (grantType === GRANT_TYPES.tokenExchange) {
        const exchanged = await tokenExchange(client, form, peer, { ...deps.exchange, mint: deps.mint, audiences: deps.audiences })
        if (exchanged.kind === 'grant') return grantResponse(c, exchanged)
        result = { ...exchanged.issued, issuedTokenType: TOKEN_TYPE_IDS.accessToken }
      } else if (grantType === GRANT_TYPES.clientCredentials && form.has('scope')) {
        // Writ's own API (resource servers); a capability is asked for with authorization_details, never a scope.
        const api = await issueApiToken(client, form, deps.mint)
        return c.json({
          access_token: api.token,
          token_type: api.claims.cnf ? DPOP.tokenType : 'Bearer',
          expires_in: api.claims.exp - api.claims.iat,
          scope: api.claims.scope,
        }, 200, { 'cache-control': 'no-store', pragma: 'no-cache' })
      } else if (grantType === GRANT_TYPES.clientCredentials) {
        result = await mintCapability(client, () => parseRequest(form, deps.audiences), peer, deps.mint)
      } else if (grantType === GRANT_TYPES.ciba) {
        result = await redeemApproval(client, () => parsePoll(form), peer, deps.mint)
      } else if (grantType === GRANT_TYPES.jwtBearer && isIdJag(form.get('assertion'))) {
        // An ID-JAG names a human: the authenticated agent gets a delegation grant, as from that human's token exchange.
        return grantResponse(c, await idJagGrant(client, form, peer, { ...deps.exchange, mint: deps.mint }))
      } else if (grantType === GRANT_TYPES.jwtBearer) {
        const input = { assertion: form.get('assertion'), clientId: form.get('client_id'), clientAssertion: form.get('client_assertion'), ...(dpop !== undefined ? { dpop } : {}) }
        result = await jwtBearerGrant(input, () => parseRequest(form, deps.audiences), peer, deps.mint)
      } else {
        throw new WritError('GRANT_TYPE_UNSUPPORTED', grantType ? `grant_type \`${grantType.slice(0, 64)}\` is not supported` : 'grant_type is required')
      }
      return c.json({
        access_token: result.token,
        // RFC 9449 §5: a token bound to a proof key is a DPoP token, and says so.
        token_type: result.claims.cnf ? DPOP.tokenType : 'Bearer',
        expires_in: result.claims.exp - result.claims.iat,
        authorization_details: result.claims.authorization_details,
        ...('issuedTokenType' in result ? { issued_token_type: result.issuedTokenType } : {}),
      }, 200, { 'cache-control': 'no-store', pragma: 'no-cache' })
    } catch (error) {
      return oauthErrorResponse(c, toWritError(error, deps.logger))
    }
  })
  return app
}

/** RFC 8693 §2.2.1: a grant is not an access token for any resource server, hence token_type N_A. */
function grantResponse(c: Context, grant: { token: string; claims: GrantClaims }): Response {
  return c.json({
    access_token: grant.token,
    issued_token_type: TOKEN_TYPE_IDS.grant,
    token_type: 'N_A',
    expires_in: grant.claims.exp - grant.claims.iat,
    authorization_details: grant.claims.authorization_details,
  }, 200, { 'cache-control': 'no-store', pragma: 'no-cache' })
}

function parseRequest(form: Map<string, string>, audiences: Audiences): CapabilityRequest {
  const action = parseAuthorizationDetails(form.get('authorization_details'))
  const task = taskSchema.safeParse(withoutUndefined({ id: form.get('task_id'), step: form.get('step_id'), purpose: form.get('task_purpose') }))
  if (!task.success) {
    const reasons = task.error.issues.map((i) => `${fieldName(i.path[0])}: ${i.message}`)
    throw new WritError('REQUEST_INVALID', `the task is invalid: ${reasons.join('; ')}`, { reasons })
  }
  return { action, task: task.data, audience: audiences.forRequest(action, form.get('resource')) }
}

function parsePoll(form: Map<string, string>): { authReqId: string; action?: WritAction } {
  const authReqId = form.get('auth_req_id')
  if (!authReqId || !/^[A-Za-z0-9_-]{16,64}$/.test(authReqId)) throw new WritError('REQUEST_INVALID', 'auth_req_id is missing or malformed')
  const details = form.get('authorization_details')
  return details === undefined ? { authReqId } : { authReqId, action: parseAuthorizationDetails(details) }
}

function fieldName(key: PropertyKey | undefined): string {
  return key === 'id' ? 'task_id' : key === 'step' ? 'step_id' : key === 'purpose' ? 'task_purpose' : String(key)
}

function withoutUndefined(value: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Record<string, string>
}

export function authorizationServerMetadata(issuer: string): AuthorizationServerMetadata {
  return {
    issuer,
    token_endpoint: `${issuer}/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    grant_types_supported: [GRANT_TYPES.clientCredentials, GRANT_TYPES.ciba, GRANT_TYPES.tokenExchange, GRANT_TYPES.jwtBearer],
    backchannel_token_delivery_modes_supported: ['poll'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256'],
    authorization_details_types_supported: [WRIT_ACTION_TYPE],
    response_types_supported: [],
    writ_task_parameters_supported: ['task_id', 'step_id', 'task_purpose'],
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    // RFC 7009 and RFC 7662, authenticated like the token endpoint (tokens/revocation-introspection-routes.ts).
    revocation_endpoint: `${issuer}/oauth/revoke`,
    revocation_endpoint_auth_methods_supported: ['private_key_jwt'],
    revocation_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256'],
    introspection_endpoint: `${issuer}/oauth/introspect`,
    introspection_endpoint_auth_methods_supported: ['private_key_jwt'],
    introspection_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256'],
    // Server-sent revocation events for resource servers (revocation/), and their JSON twin at `<issuer>/revocations`.
    writ_revocation_events_endpoint: `${issuer}/revocations/events`,
  }
}
