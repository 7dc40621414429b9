/**
 * subscribeRevocations(): keeps a RevocationList current from Writ's revocation stream (server-sent events at
 * `<issuer>/revocations/events`, docs/revocation.md) and hands the verifier a synchronous `isRevoked` hook.
 *
 * The stream is untrusted input even though it comes from Writ (a proxy, a misconfigured URL, a broken replica):
 * lines are bounded by the SSE parser, every event is parsed strictly, and an event that cannot be read stops the
 * subscription from counting as current instead of being skipped (a skipped revocation is a token let through).
 */
import { performance } from 'node:perf_hooks'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { WritError } from '../errors/writ-error.js'
import { systemNowSeconds } from '../clock.js'
import type { CapabilityClaims } from '../wire/profile.js'
import type { JwsHeader } from './compact-jws.js'
import { ResourceServerClient, type ResourceServerClientOptions } from '../client/resource-server-client.js'
import { parseRevocationEvent, REVOCATION_KINDS, RevocationList, type RevocationEvent, type RevocationListOptions } from './revocation-list.js'

/** The scope of Writ's own API token that opens the revocation stream. */
export const REVOCATIONS_SCOPE = 'writ:revocations'

/**
 * Where the subscriber gets Writ's API access token (client_credentials, scope `writ:revocations`): a
 * ResourceServerClient (or anything with its `apiToken`), or a function. `refresh: true` asks for a new token rather
 * than a cached one (the stream answered 401, or the cached one is about to expire).
 */
export type ApiTokenSource =
  | ((request: { scope: typeof REVOCATIONS_SCOPE; refresh: boolean }) => Promise<string>)
  | Pick<ResourceServerClient, 'apiToken'>

export type RevocationMode = 'strict' | 'best_effort'

export interface RevocationSubscriberOptions {
  /** Writ's issuer identifier; the stream is `<issuer>/revocations/events` unless `eventsUrl` says otherwise. */
  issuer: string
  /** Override of the stream's URL (https, or http on loopback). */
  eventsUrl?: string | URL
  /** Writ's API token source; or give `clientId` and `privateKey` and the subscriber makes a ResourceServerClient. */
  accessToken?: ApiTokenSource
  /** The resource server's id, as registered (`writ resource-server register`); with `privateKey`. */
  clientId?: string
  /** The resource server's private key (KeyObject or private JWK); it never leaves the process. */
  privateKey?: ResourceServerClientOptions['privateKey']
  /**
   * `strict` (default): `isRevoked` throws REVOCATION_STALE (503) until the first snapshot has arrived and whenever
   * nothing (event or heartbeat) has been heard for `staleAfterSeconds`: fail closed. `best_effort`: answers from the
   * last known list, however old.
   */
  mode?: RevocationMode
  /** Default 10. Should be several of the server's heartbeat intervals (default 2 s). */
  staleAfterSeconds?: number
  /** Reconnect backoff: the first retry after a healthy connection is immediate, then doubling from `initialMs` up to `maxMs`, with jitter. */
  backoff?: { initialMs?: number; maxMs?: number }
  /** Options of the list (grace past forget_after, prune cadence, clock). */
  list?: RevocationListOptions
  /**
   * Called after each revocation event is applied (from the snapshot too), for work that should follow at once:
   * closing sessions or connections a revoked token opened. Must not throw; an error it throws is reported to onError.
   */
  onRevocation?: (event: RevocationEvent, eventId: number) => void
  /** Called with every connection problem (for logging; never carries the token). The subscriber retries on its own. */
  onError?: (error: Error) => void
  /** For tests: another fetch. */
  fetch?: typeof fetch
}

export interface RevocationSubscriptionStatus {
  /** A stream response is open. */
  connected: boolean
  /** The first snapshot has completed (a heartbeat arrived after it). */
  synced: boolean
  /** The list counts as current: synced, and something was heard within `staleAfterSeconds`. */
  fresh: boolean
  lastEventId: number | undefined
  size: number
  /** Connections opened so far (the first one included). */
  connections: number
}

export interface RevocationSubscription {
  /** The verifier hook: `createCapabilityVerifier({ ..., isRevoked: subscription.isRevoked })`. Synchronous. */
  readonly isRevoked: (iss: string, jti: string, claims: CapabilityClaims, header: Readonly<JwsHeader>) => boolean
  readonly list: RevocationList
  /** Resolves when the first snapshot has completed; rejects only if the subscription is closed first. */
  readonly ready: Promise<void>
  status(): RevocationSubscriptionStatus
  /** Stops the stream, the timers and any pending retry. Idempotent. */
  close(): void
}

// One SSE line or event larger than this is not a revocation event; the parser refuses it rather than buffering it.
const MAX_EVENT_CHARACTERS = 16 * 1024
// A connection that delivered a heartbeat and lasted this long was healthy: the next reconnect is immediate.
const HEALTHY_CONNECTION_MS = 1_000
// Renew the API token this long before it expires (or a quarter of its lifetime, if that is shorter).
const TOKEN_RENEW_MARGIN_SECONDS = 30

export function subscribeRevocations(options: RevocationSubscriberOptions): RevocationSubscription {
  const settings = checkOptions(options)
  const tokenSource: ApiTokenSource = options.accessToken
    ?? new ResourceServerClient({ issuer: options.issuer, clientId: options.clientId as string, privateKey: options.privateKey as ResourceServerClientOptions['privateKey'], ...(options.fetch ? { fetch: options.fetch } : {}) })
  const nowSeconds = options.list?.now ?? systemNowSeconds
  const list = new RevocationList({ ...options.list, now: nowSeconds })
  const fetchImpl = options.fetch ?? fetch
  const report = (error: Error): void => options.onError?.(error)

  let closed = false
  let connected = false
  let synced = false
  let lastHeardMs = -Infinity
  let connections = 0
  let failures = 0
  // Set by a heartbeat; with the connection's age it decides whether the next reconnect may be immediate.
  let heartbeatOnConnection = false
  let renewing = false
  let token: string | undefined
  let tokenExp: number | undefined
  let refreshToken = false
  let current: AbortController | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let renewTimer: NodeJS.Timeout | undefined
  let markReady: () => void = () => undefined
  let failReady: (error: Error) => void = () => undefined
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve
    failReady = reject
  })
  // A caller that never awaits `ready` must not see an unhandled rejection when it closes early.
  ready.catch(() => undefined)

  function heard(): void {
    lastHeardMs = performance.now()
  }

  function isRevoked(_iss: string, _jti: string, claims: CapabilityClaims, header: Readonly<JwsHeader>): boolean {
    if (settings.strict) {
      if (!synced) throw stale('the revocation list has not been loaded yet', 'revocations_not_loaded')
      if (performance.now() - lastHeardMs > settings.staleAfterMs) {
        throw stale(`nothing heard from the revocation stream for over ${settings.staleAfterMs / 1000} s`, 'revocations_stale')
      }
    }
    return list.isRevoked(claims, header.kid, nowSeconds())
  }

  async function apiToken(): Promise<string> {
    const now = systemNowSeconds()
    if (token === undefined || refreshToken || (tokenExp !== undefined && tokenExp - renewMargin() <= now)) {
      const refresh = token !== undefined
      if (typeof tokenSource === 'function') {
        const fresh = await tokenSource({ scope: REVOCATIONS_SCOPE, refresh })
        if (typeof fresh !== 'string' || fresh.length === 0) throw new TypeError('accessToken() must resolve to a token string')
        token = fresh
        tokenExp = expiryOf(fresh)
      } else {
        const fresh = await tokenSource.apiToken(REVOCATIONS_SCOPE, { refresh })
        token = fresh.token
        tokenExp = fresh.expiresAt
      }
      refreshToken = false
    }
    return token
  }

  function renewMargin(): number {
    return tokenExp === undefined ? 0 : Math.min(TOKEN_RENEW_MARGIN_SECONDS, Math.max(1, Math.floor((tokenExp - systemNowSeconds()) / 4)))
  }

  // Before the token expires (when the server would close the stream), reconnect with a fresh one; the resume
  // from Last-Event-ID makes the switch lossless.
  function scheduleRenewal(controller: AbortController): void {
    clearTimeout(renewTimer)
    if (tokenExp === undefined) return
    const inMs = Math.max(1_000, (tokenExp - renewMargin() - systemNowSeconds()) * 1000)
    renewTimer = setTimeout(() => {
      refreshToken = true
      renewing = true
      controller.abort(new Error('renewing the revocation stream token'))
    }, inMs)
    renewTimer.unref()
  }

  async function connectOnce(): Promise<void> {
    const controller = new AbortController()
    current = controller
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      authorization: `Bearer ${await apiToken()}`,
    }
    if (closed) return
    if (list.lastEventId !== undefined) headers['last-event-id'] = String(list.lastEventId)
    connections++
    const response = await fetchImpl(settings.url, { headers, signal: controller.signal, redirect: 'error' })
    if (response.status === 401) {
      refreshToken = true
      await response.body?.cancel()
      throw new Error('the revocation stream refused the access token (401)')
    }
    if (response.status !== 200 || response.body === null) {
      await response.body?.cancel()
      throw new Error(`the revocation stream answered ${response.status}`)
    }
    const type = response.headers.get('content-type') ?? ''
    if (!type.toLowerCase().startsWith('text/event-stream')) {
      await response.body.cancel()
      throw new Error('the revocation stream did not answer with text/event-stream')
    }
    connected = true
    scheduleRenewal(controller)
    let broken: Error | undefined
    const parser = createParser({
      maxBufferSize: MAX_EVENT_CHARACTERS,
      onEvent: (message) => {
        if (broken !== undefined) return
        try {
          onMessage(message)
        } catch (error) {
          broken = error as Error
          controller.abort(broken)
        }
      },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') {
          broken ??= new Error('the revocation stream sent an oversized event')
          controller.abort(broken)
        }
      },
    })
    const decoder = new TextDecoder()
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(chunk, { stream: true }))
        if (broken !== undefined) break
      }
    } catch (error) {
      if (broken === undefined) throw error
    } finally {
      connected = false
    }
    if (broken !== undefined) throw broken
  }

  function onMessage(message: EventSourceMessage): void {
    if (message.event === 'heartbeat') {
      const head = headOf(message.data)
      const last = list.lastEventId
      if (head !== undefined && last !== undefined && head < last) {
        // The server's ids went back (restored from a backup, another database): resuming after our id would skip
        // its new events. Start over from its snapshot; the entries already known stay (nothing is un-revoked).
        list.forgetEventId()
        throw new Error(`the revocation stream's last event id went back from ${last} to ${head}; reloading its snapshot`)
      }
      heard()
      list.prune(nowSeconds()) // a quiet stream still forgets what has expired
      if (!synced) {
        synced = true
        markReady()
      }
      heartbeatOnConnection = true
      return
    }
    if (message.event !== 'revocation') return // other event types are for later versions of the stream
    const id = message.id !== undefined && /^\d{1,15}$/.test(message.id) ? Number(message.id) : undefined
    if (id === undefined) throw unreadable('a revocation event without a numeric id')
    let data: unknown
    try {
      data = JSON.parse(message.data)
    } catch {
      throw unreadable('a revocation event whose data is not JSON')
    }
    const event = parseRevocationEvent(data)
    if (event !== undefined) {
      list.apply(event, id)
      if (options.onRevocation !== undefined) {
        try {
          options.onRevocation(event, id)
        } catch (error) {
          report(error instanceof Error ? error : new Error(String(error)))
        }
      }
    } else if (isUnknownKind(data)) {
      list.noteEventId(id) // a kind this SDK does not know covers nothing it verifies
    } else {
      throw unreadable('a malformed revocation event')
    }
    // The backlog of a (re)connection is complete only at its first heartbeat: until then an event proves nothing
    // about the ones still to come, so it does not make a stale list current.
    if (heartbeatOnConnection) heard()
  }

  function unreadable(detail: string): Error {
    // An event that cannot be applied may be a revocation: the list is no longer known to be complete.
    synced = false
    return new Error(`the revocation stream sent ${detail}`)
  }

  async function run(): Promise<void> {
    while (!closed) {
      const openedAt = performance.now()
      heartbeatOnConnection = false
      try {
        await connectOnce()
        if (!closed) report(new Error('the revocation stream closed'))
      } catch (error) {
        if (closed) break
        if (!renewing) report(error instanceof Error ? error : new Error(String(error)))
      } finally {
        clearTimeout(renewTimer)
      }
      if (closed) break
      // After a connection that was healthy for a while (or a planned renewal), reconnect at once; a stream that keeps
      // ending right after it opens (a proxy, a broken replica) gets the backoff instead of a tight loop.
      if (renewing || (heartbeatOnConnection && performance.now() - openedAt >= HEALTHY_CONNECTION_MS)) failures = 0
      renewing = false
      const delay = failures === 0 ? 0 : jittered(Math.min(settings.maxMs, settings.initialMs * 2 ** (failures - 1)))
      failures++
      if (delay > 0) await new Promise<void>((resolve) => {
        retryTimer = setTimeout(resolve, delay)
        retryTimer.unref()
      })
    }
  }

  // The loop lives as long as the subscription; its errors are reported, never thrown at the caller.
  void run()

  return {
    isRevoked,
    list,
    ready,
    status: () => ({
      connected, synced,
      fresh: synced && performance.now() - lastHeardMs <= settings.staleAfterMs,
      lastEventId: list.lastEventId, size: list.size, connections,
    }),
    close() {
      if (closed) return
      closed = true
      clearTimeout(retryTimer)
      clearTimeout(renewTimer)
      current?.abort(new Error('the revocation subscription was closed'))
      failReady(new Error('the revocation subscription was closed before its first snapshot'))
    },
  }
}

/** A heartbeat's `last_event_id`, when it has a well-formed one. */
function headOf(data: string): number | undefined {
  try {
    const value = (JSON.parse(data) as { last_event_id?: unknown }).last_event_id
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined
  } catch {
    return undefined
  }
}

function stale(detail: string, reason: string): WritError {
  return new WritError('REVOCATION_STALE', detail, { reasons: [reason] })
}

function isUnknownKind(data: unknown): boolean {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return false
  const kind = (data as { kind?: unknown }).kind
  return typeof kind === 'string' && kind.length > 0 && kind.length <= 64 && !(REVOCATION_KINDS as readonly string[]).includes(kind)
}

// Full jitter over the upper half, so a thousand verifiers dropped at once do not reconnect in one burst.
function jittered(ms: number): number {
  return Math.round(ms / 2 + Math.random() * (ms / 2))
}

/**
 * The access token's `exp`, read without verifying it: it only decides when to fetch the next token. The stream
 * itself checks the token; if this reading is wrong, the cost is one 401 and a refresh.
 */
function expiryOf(token: string): number | undefined {
  const payload = token.split('.')[1]
  if (payload === undefined) return undefined
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined
  } catch {
    return undefined
  }
}

interface Settings {
  url: URL
  strict: boolean
  staleAfterMs: number
  initialMs: number
  maxMs: number
}

function checkOptions(options: RevocationSubscriberOptions): Settings {
  if (typeof options.issuer !== 'string' || options.issuer.length === 0) throw new TypeError('issuer must be a non-empty string')
  if (options.accessToken !== undefined) {
    const source = options.accessToken
    if (typeof source !== 'function' && typeof source?.apiToken !== 'function') throw new TypeError('accessToken must be a function or a ResourceServerClient')
    if (options.clientId !== undefined || options.privateKey !== undefined) throw new TypeError('give accessToken, or clientId and privateKey, not both')
  } else if (typeof options.clientId !== 'string' || options.clientId.length === 0 || options.privateKey === undefined) {
    throw new TypeError('give accessToken, or clientId and privateKey')
  }
  const mode = options.mode ?? 'strict'
  if (mode !== 'strict' && mode !== 'best_effort') throw new TypeError("mode must be 'strict' or 'best_effort'")
  const staleAfterSeconds = options.staleAfterSeconds ?? 10
  if (!Number.isFinite(staleAfterSeconds) || staleAfterSeconds <= 0 || staleAfterSeconds > 3600) {
    throw new TypeError('staleAfterSeconds must be a number of seconds between 0 and 3600')
  }
  const initialMs = options.backoff?.initialMs ?? 250
  const maxMs = options.backoff?.maxMs ?? 10_000
  if (!Number.isFinite(initialMs) || initialMs <= 0 || !Number.isFinite(maxMs) || maxMs < initialMs) {
    throw new TypeError('backoff needs 0 < initialMs <= maxMs')
  }
  let url: URL
  try {
    url = new URL(options.eventsUrl ?? `${options.issuer.replace(/\/$/, '')}/revocations/events`)
  } catch {
    throw new TypeError('eventsUrl must be an absolute url')
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
  // The stream carries the API token and decides what is refused: plain http only on loopback (tests, sidecars).
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError('the revocation stream url must use https (http is allowed only on loopback)')
  }
  return { url, strict: mode === 'strict', staleAfterMs: staleAfterSeconds * 1000, initialMs, maxMs }
}
