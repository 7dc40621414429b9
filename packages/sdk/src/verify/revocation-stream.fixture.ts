/**
 * A small node:http revocation stream that speaks the documented format (docs/revocation.md): snapshot or resume on
 * connect, then live events, heartbeats on demand or on a timer. Tests steer it to drop, stall and misbehave.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { systemNowSeconds } from '../clock.js'
import type { RevocationEvent } from './revocation-list.js'

export interface StreamFixture {
  url: string
  /** Every request's headers, in order. */
  readonly requests: IncomingHttpHeaders[]
  /** Bearer tokens the stream accepts; others get 401. */
  readonly acceptedTokens: Set<string>
  /** Open streams right now. */
  readonly open: number
  /** Appends an event (the next id) and sends it to every open stream. Returns its id. */
  revoke(event: RevocationEvent): number
  /** Appends an event whose data is this raw text (hostile cases): replayed on every resume, like a stored event. */
  revokeRaw(data: string): number
  /** Writes raw SSE text to every open stream (hostile cases). */
  sendRaw(text: string): void
  heartbeat(): void
  /** While paused, no heartbeat goes out (a stalled stream); the connection stays open. */
  pauseHeartbeats(paused: boolean): void
  /** Loses every stored event: ids start again at 1 (a control plane restored from an old backup). */
  forgetEvents(): void
  /** Destroys every open connection server-side. */
  dropAll(): void
  /** Answer the next connections with this status instead of a stream. */
  failNext(count: number, status: number): void
  close(): Promise<void>
}

export async function startStreamFixture(options: { heartbeatMs?: number; tokens?: string[]; endAfterSnapshot?: boolean } = {}): Promise<StreamFixture> {
  const events: Array<{ id: number; data: string }> = []
  const streams = new Set<ServerResponse>()
  const requests: IncomingHttpHeaders[] = []
  const acceptedTokens = new Set(options.tokens ?? ['api-token-1'])
  let paused = false
  let failures = { count: 0, status: 500 }

  const frame = (id: number, data: string): string => `id: ${id}\nevent: revocation\ndata: ${data}\n\n`
  const heartbeatFrame = (): string => {
    const last = events.length === 0 ? 0 : events[events.length - 1]!.id
    return `event: heartbeat\ndata: ${JSON.stringify({ time: systemNowSeconds(), last_event_id: last })}\n\n`
  }

  const server = createServer((request, response) => {
    requests.push(request.headers)
    if (failures.count > 0) {
      failures.count--
      response.writeHead(failures.status, { 'content-type': 'application/json' }).end('{}')
      return
    }
    const auth = request.headers.authorization ?? ''
    if (!auth.startsWith('Bearer ') || !acceptedTokens.has(auth.slice('Bearer '.length))) {
      response.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' }).end('{}')
      return
    }
    const resumeFrom = Number(request.headers['last-event-id'] ?? 0)
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    for (const { id, data } of events) if (id > resumeFrom) response.write(frame(id, data))
    if (!paused) response.write(heartbeatFrame())
    if (options.endAfterSnapshot) {
      response.end() // a broken replica or proxy: every stream ends as soon as it has begun
      return
    }
    streams.add(response)
    response.on('close', () => streams.delete(response))
  })
  const timer = setInterval(() => {
    if (!paused) for (const stream of streams) stream.write(heartbeatFrame())
  }, options.heartbeatMs ?? 200)
  timer.unref()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/revocations/events`,
    requests,
    acceptedTokens,
    get open() {
      return streams.size
    },
    revoke(event) {
      return this.revokeRaw(JSON.stringify(event))
    },
    revokeRaw(data) {
      const id = events.length + 1
      events.push({ id, data })
      for (const stream of streams) stream.write(frame(id, data))
      return id
    },
    sendRaw(text) {
      for (const stream of streams) stream.write(text)
    },
    heartbeat() {
      for (const stream of streams) stream.write(heartbeatFrame())
    },
    pauseHeartbeats(value) {
      paused = value
    },
    forgetEvents() {
      events.length = 0
    },
    dropAll() {
      for (const stream of streams) stream.socket?.destroy()
    },
    failNext(count, status) {
      failures = { count, status }
    },
    close: () => new Promise<void>((resolve) => {
      clearInterval(timer)
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/** Polls `condition` until it holds (no fixed sleeps: CI machines are slow and shared). */
export async function eventually(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
