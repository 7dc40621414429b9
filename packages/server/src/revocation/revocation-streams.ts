/**
 * RevocationStreams: every open server-sent-events stream of this replica. Each event is formatted and encoded once
 * and the same bytes are queued on every stream; a stream that cannot keep up is dropped (it resumes with
 * `Last-Event-ID`) instead of holding memory or anyone else back.
 */
import { WritError } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { RevocationRepository } from '../storage/revocation-repository.js'
import type { RevocationFeed } from './revocation-feed.js'
import type { StoredRevocationEvent } from './revocation.js'

/** Who may read the stream and until when: the caller's access token is checked by the port behind this. */
export interface StreamAuthorization {
  clientId: string
  /** When the access token expires: the stream is closed then, and the client reconnects with a fresh one. */
  expMs: number
}

export interface RevocationStreamsDeps {
  revocations: Pick<RevocationRepository, 'eventsAfter'>
  feed: RevocationFeed
  clock: Clock
  logger: Logger
  heartbeatSeconds: number
  maxStreams: number
}

// A consumer this far behind is dropped: it reconnects and resumes from the last id it read.
const MAX_BUFFERED_BYTES = 1024 * 1024
const PAGE = 1_000
// How long a client waits before reconnecting after the stream ends (the `retry:` field).
const RETRY_MS = 1_000
const MAX_TIMER_MS = 2 ** 31 - 1

interface Stream {
  controller: ReadableStreamDefaultController<Uint8Array>
  /** Until the backlog is sent, live events wait here (they may overlap the backlog; ids decide). */
  pending: StoredRevocationEvent[] | undefined
  lastSent: number
  expiry: ReturnType<typeof setTimeout> | undefined
  closed: boolean
}

const encoder = new TextEncoder()

export function formatEvent({ eventId, event }: StoredRevocationEvent): Uint8Array {
  return encoder.encode(`id: ${eventId}\nevent: revocation\ndata: ${JSON.stringify(event)}\n\n`)
}

export class RevocationStreams {
  private readonly streams = new Set<Stream>()
  private heartbeat: ReturnType<typeof setInterval> | undefined
  private unsubscribe: (() => void) | undefined

  constructor(private readonly deps: RevocationStreamsDeps) {}

  start(): void {
    this.unsubscribe = this.deps.feed.subscribe((events) => this.broadcast(events))
    this.heartbeat = setInterval(() => this.beat(), this.deps.heartbeatSeconds * 1000)
    this.heartbeat.unref()
  }

  get size(): number {
    return this.streams.size
  }

  /**
   * A new stream from `afterId` (0: the snapshot of every live event), then live events, with a heartbeat at once
   * after the backlog (the client knows it is current) and then at the interval.
   */
  open(afterId: number, authorization: StreamAuthorization): ReadableStream<Uint8Array> {
    if (this.streams.size >= this.deps.maxStreams) {
      throw new WritError('STREAM_LIMIT_REACHED', `this replica serves at most ${this.deps.maxStreams} revocation streams; retry shortly`)
    }
    let stream: Stream | undefined
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        const s: Stream = { controller, pending: [], lastSent: afterId, expiry: undefined, closed: false }
        stream = s
        this.streams.add(s)
        const delay = Math.min(Math.max(0, authorization.expMs - this.deps.clock.nowMs()), MAX_TIMER_MS)
        s.expiry = setTimeout(() => this.end(s), delay)
        s.expiry.unref()
        controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n\n`))
        void this.sendBacklog(s)
      },
      cancel: () => { if (stream) this.drop(stream) },
    }, new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }))
  }

  /** Ends every stream (shutdown); clients reconnect, to this replica once it is back or to another. */
  close(): void {
    clearInterval(this.heartbeat)
    this.unsubscribe?.()
    for (const s of [...this.streams]) this.end(s)
  }

  private async sendBacklog(s: Stream): Promise<void> {
    try {
      for (;;) {
        const page = await this.deps.revocations.eventsAfter(s.lastSent, this.deps.clock.nowMs(), PAGE)
        for (const event of page) this.write(s, event.eventId, formatEvent(event))
        if (s.closed || page.length < PAGE) break
      }
      // Live events that arrived while the backlog was read: only those past it, in order.
      const pending = s.pending ?? []
      s.pending = undefined
      for (const event of pending) this.write(s, event.eventId, formatEvent(event))
      if (!s.closed) this.push(s, this.heartbeatChunk())
    } catch (error) {
      this.deps.logger.warn('a revocation stream could not read its backlog; the client will reconnect', { error: String(error) })
      this.fail(s)
    }
  }

  private broadcast(events: readonly StoredRevocationEvent[]): void {
    if (this.streams.size === 0) return
    const chunks = events.map((event) => ({ eventId: event.eventId, chunk: formatEvent(event) }))
    for (const s of this.streams) {
      if (s.pending !== undefined) {
        s.pending.push(...events)
        continue
      }
      for (const { eventId, chunk } of chunks) this.write(s, eventId, chunk)
    }
  }

  private beat(): void {
    if (this.streams.size === 0) return
    const chunk = this.heartbeatChunk()
    for (const s of this.streams) if (s.pending === undefined) this.push(s, chunk)
  }

  private heartbeatChunk(): Uint8Array {
    const data = { time: this.deps.clock.nowSeconds(), last_event_id: this.deps.feed.lastEventId }
    return encoder.encode(`event: heartbeat\ndata: ${JSON.stringify(data)}\n\n`)
  }

  /** Events are written once each, in id order: one already sent (backlog and live overlap) is skipped. */
  private write(s: Stream, eventId: number, chunk: Uint8Array): void {
    if (eventId <= s.lastSent) return
    s.lastSent = eventId
    this.push(s, chunk)
  }

  private push(s: Stream, chunk: Uint8Array): void {
    if (s.closed) return
    s.controller.enqueue(chunk)
    const desired = s.controller.desiredSize
    if (desired !== null && desired < -MAX_BUFFERED_BYTES) this.fail(s)
  }

  /** Normal end (token expiry, shutdown): what is queued is still delivered. */
  private end(s: Stream): void {
    if (s.closed) return
    this.drop(s)
    try { s.controller.close() } catch { /* already closed by the reader */ }
  }

  /** Abnormal end (slow consumer, storage error): the queue is discarded and the connection aborted. */
  private fail(s: Stream): void {
    if (s.closed) return
    this.drop(s)
    try { s.controller.error(new Error('revocation stream dropped')) } catch { /* already closed */ }
  }

  private drop(s: Stream): void {
    s.closed = true
    clearTimeout(s.expiry)
    this.streams.delete(s)
  }
}
