/**
 * A resource server's side of Writ's own API: obtains Writ's API access token (client_credentials with a scope such as
 * `writ:revocations`, authenticated by the server's private_key_jwt) and caches it until shortly before it expires.
 */
import { calculateJwkThumbprint } from 'jose'
import type { JsonWebKey, KeyObject } from 'node:crypto'
import { systemNowSeconds } from '../clock.js'
import { WritError } from '../errors/writ-error.js'
import { CLIENT_ASSERTION_TYPE, GRANT_TYPES } from '../wire/profile.js'
import { fetchMetadata, readJson, send } from './writ-http.js'
import { signClientAssertion } from './client-assertion.js'

export interface ResourceServerClientOptions {
  /** Writ's issuer identifier; the token endpoint is read from its RFC 8414 metadata. Give this or `tokenEndpoint`. */
  issuer?: string
  /** The token endpoint itself (no discovery); assertions are then addressed to it. */
  tokenEndpoint?: string
  /** The resource server's id (or registered name), as `writ resource-server register` printed it. */
  clientId: string
  /** The resource server's Ed25519 or P-256 private key (KeyObject or private JWK). It never leaves the process. */
  privateKey: KeyObject | JsonWebKey
  fetch?: typeof fetch
  /** Current time in epoch seconds; for tests. */
  now?: () => number
}

export interface ApiToken {
  token: string
  /** When the token expires, in epoch seconds (its `exp`). */
  expiresAt: number
}

/** A cached token is handed out until this long before it expires, so a caller never sends one that expires in flight. */
export const API_TOKEN_RENEW_MARGIN_SECONDS = 60

export class ResourceServerClient {
  private readonly fetchImpl: typeof fetch
  private readonly now: () => number
  private readonly key: Promise<JsonWebKey>
  private endpoint: Promise<string> | undefined
  private readonly cached = new Map<string, Promise<ApiToken>>()

  constructor(private readonly options: ResourceServerClientOptions) {
    if ((options.issuer === undefined) === (options.tokenEndpoint === undefined)) throw new TypeError('give issuer or tokenEndpoint, exactly one')
    if (typeof options.clientId !== 'string' || options.clientId.length === 0) throw new TypeError('clientId must be a non-empty string')
    this.fetchImpl = options.fetch ?? fetch
    this.now = options.now ?? systemNowSeconds
    this.key = privateJwk(options.privateKey)
    // A bad key surfaces (TypeError) at the first request, not as an unhandled rejection before.
    this.key.catch(() => undefined)
  }

  /** Writ's API token for `scope`, from the cache unless it is within a minute of expiry or `refresh` is set. */
  async apiToken(scope = 'writ:revocations', options: { refresh?: boolean } = {}): Promise<ApiToken> {
    const hit = this.cached.get(scope)
    if (hit !== undefined && !options.refresh) {
      const token = await hit.catch(() => undefined)
      if (token !== undefined && token.expiresAt - API_TOKEN_RENEW_MARGIN_SECONDS > this.now()) return token
    }
    // Concurrent callers share one request; a failed one is not cached.
    const fresh = this.request(scope)
    this.cached.set(scope, fresh)
    fresh.catch(() => { if (this.cached.get(scope) === fresh) this.cached.delete(scope) })
    return fresh
  }

  private async request(scope: string): Promise<ApiToken> {
    const tokenEndpoint = await this.tokenEndpoint()
    const assertion = await signClientAssertion({
      privateKey: await this.key, agentId: this.options.clientId, audience: this.options.issuer ?? tokenEndpoint, now: this.now,
    })
    const form = new URLSearchParams({
      grant_type: GRANT_TYPES.clientCredentials, scope, client_id: this.options.clientId,
      client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion,
    })
    const response = await send(this.fetchImpl, tokenEndpoint, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form.toString(),
    })
    const body = await readJson(response) as Record<string, unknown> | undefined
    if (response.status !== 200) throw WritError.fromResponse(response.status, body)
    if (typeof body?.access_token !== 'string' || typeof body.expires_in !== 'number' || body.expires_in <= 0) {
      throw new WritError('INTERNAL', 'the token response is malformed', { reasons: ['token_response_invalid'] })
    }
    // Measured from when the request was answered: the local clock, never a claim of the token read unverified.
    return { token: body.access_token, expiresAt: this.now() + body.expires_in }
  }

  private tokenEndpoint(): Promise<string> {
    if (this.options.tokenEndpoint !== undefined) return Promise.resolve(this.options.tokenEndpoint)
    const issuer = this.options.issuer as string
    // A failed discovery is not cached, so the next request tries again.
    this.endpoint ??= fetchMetadata(this.fetchImpl, `${issuer.replace(/\/$/, '')}/.well-known/oauth-authorization-server`, issuer)
      .then((metadata) => metadata.token_endpoint)
      .catch((error: unknown) => { this.endpoint = undefined; throw error })
    return this.endpoint
  }
}

/** The private key as a JWK with a `kid` (its RFC 7638 thumbprint, as Writ assigns it when registering the public key). */
async function privateJwk(key: KeyObject | JsonWebKey): Promise<JsonWebKey> {
  const jwk = 'export' in key && typeof key.export === 'function' ? (key as KeyObject).export({ format: 'jwk' }) : { ...(key as JsonWebKey) }
  if (typeof jwk.d !== 'string') throw new TypeError('privateKey must be a private key')
  if (jwk.kid === undefined) {
    jwk.kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.y ? { y: jwk.y } : {}) } as Parameters<typeof calculateJwkThumbprint>[0])
  }
  return jwk
}
