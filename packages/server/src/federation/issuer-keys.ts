/** IssuerKeys: one trusted issuer's discovery document and JWKS, fetched over HTTP, cached, and refreshed at a bounded rate. */
import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose'
import { WritError } from '@writ/sdk'
import type { Clock } from '../clock.js'

export interface IssuerKeysOptions {
  clock: Clock
  /** Per fetch (discovery or JWKS): an issuer that does not answer fails closed instead of holding requests. */
  timeoutMs: number
  /** The discovery document is read again after this long; the JWKS has jose's own cache (10 min). */
  discoveryMaxAgeMs?: number
  /** After a failed discovery fetch, requests fail at once for this long instead of each retrying the issuer. */
  retryAfterFailureMs?: number
  /** Least time between two JWKS fetches caused by unknown `kid`s (default 30 s). */
  jwksCooldownMs?: number
}

const DISCOVERY_MAX_BYTES = 64 * 1024
// jose refetches the JWKS on an unknown `kid` at most once per cooldown: a flood of made-up kids costs one fetch per 30 s.
const JWKS_COOLDOWN_MS = 30_000
const JWKS_MAX_AGE_MS = 600_000

export class IssuerKeys {
  private jwks: { get: JWTVerifyGetKey; loadedAt: number } | undefined
  private loading: Promise<JWTVerifyGetKey> | undefined
  private failedAt: number | undefined
  private readonly discoveryMaxAgeMs: number
  private readonly retryAfterFailureMs: number

  constructor(readonly issuer: string, private readonly options: IssuerKeysOptions) {
    this.discoveryMaxAgeMs = options.discoveryMaxAgeMs ?? 3_600_000
    this.retryAfterFailureMs = options.retryAfterFailureMs ?? 5_000
  }

  /** A jose key resolver: network failures become TRUST_PROVIDER_UNAVAILABLE, a missing key stays jose's error. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const get = await this.resolve()
    try {
      return await get(header, token)
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error
      throw this.unavailable('its key set could not be fetched', error)
    }
  }

  private async resolve(): Promise<JWTVerifyGetKey> {
    const now = this.options.clock.nowMs()
    if (this.jwks && now - this.jwks.loadedAt < this.discoveryMaxAgeMs) return this.jwks.get
    if (this.loading) return this.loading
    if (this.failedAt !== undefined && now - this.failedAt < this.retryAfterFailureMs) {
      // Keys fetched before stay usable while the issuer is down; with none, fail closed.
      if (this.jwks) return this.jwks.get
      throw this.unavailable('its discovery document could not be fetched recently')
    }
    this.loading = this.discover().then((get) => {
      this.jwks = { get, loadedAt: this.options.clock.nowMs() }
      this.failedAt = undefined
      return get
    }, (error: unknown) => {
      this.failedAt = this.options.clock.nowMs()
      if (this.jwks) return this.jwks.get
      throw error
    }).finally(() => { this.loading = undefined })
    return this.loading
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    // OpenID Connect Discovery §4: the issuer without a trailing slash, then the well-known path.
    const url = `${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
    let document: unknown
    try {
      const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(this.options.timeoutMs), headers: { accept: 'application/json' } })
      if (response.status !== 200) throw new Error(`discovery answered ${response.status}`)
      const text = await response.text()
      if (text.length > DISCOVERY_MAX_BYTES) throw new Error('discovery document too large')
      document = JSON.parse(text)
    } catch (error) {
      throw this.unavailable('its discovery document could not be fetched', error)
    }
    const { issuer, jwks_uri: jwksUri } = (document ?? {}) as Record<string, unknown>
    // OpenID Connect Discovery §4.3: the document must name exactly the issuer it was fetched for (no mix-up).
    if (issuer !== this.issuer) throw this.unavailable('its discovery document names another issuer')
    if (typeof jwksUri !== 'string' || !isFetchable(jwksUri)) throw this.unavailable('its jwks_uri is missing or not https')
    return createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: this.options.timeoutMs, cooldownDuration: this.options.jwksCooldownMs ?? JWKS_COOLDOWN_MS, cacheMaxAge: JWKS_MAX_AGE_MS,
    })
  }

  private unavailable(why: string, cause?: unknown): WritError {
    return new WritError('TRUST_PROVIDER_UNAVAILABLE', `the trusted issuer \`${this.issuer}\` cannot be used: ${why}`, {
      reasons: ['trust_provider_unavailable'], ...(cause === undefined ? {} : { cause }),
    })
  }
}

/** https, or http on loopback only: keys fetched over plain http could be swapped in transit. */
export function isFetchable(value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback)
}
