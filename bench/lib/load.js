/**
 * A lean HTTP/1.1 load generator over keep-alive sockets (node:net), like wrk or autocannon: little client CPU, so
 * that on a small machine the servers under test get the cores. One request in flight per connection (no pipelining).
 *
 *   closedLoop(): `concurrency` connections, each sends its next request as soon as the previous answer is read.
 *   openLoop():   requests scheduled at a fixed rate; latency counts from the scheduled time (no coordinated
 *                 omission), and a request that finds no idle connection opens one (up to maxConnections) or waits.
 */
import { connect } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const CRLF2 = Buffer.from('\r\n\r\n')

class Connection {
  constructor(url) {
    this.url = url
    this.socket = undefined
    this.pending = undefined
    this.buffer = undefined
  }

  open() {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.url.hostname, port: Number(this.url.port), noDelay: true })
      socket.once('connect', () => { socket.off('error', reject); resolve() })
      socket.once('error', reject)
      socket.on('data', (chunk) => { if (this.socket === socket) this.onData(chunk) })
      socket.on('error', (error) => { if (this.socket === socket) this.fail(error) })
      socket.on('close', () => {
        if (this.socket !== socket) return
        this.socket = undefined
        this.fail(new Error('connection closed'))
      })
      this.socket = socket
      this.buffer = undefined
    })
  }

  fail(error) {
    const pending = this.pending
    this.pending = undefined
    if (pending) pending.reject(error)
  }

  /** Sends one request (a string with head and body) and resolves with { status, body }. */
  async send(request) {
    if (!this.socket || this.socket.destroyed) await this.open()
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject }
      this.socket.write(request)
    })
  }

  onData(chunk) {
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk
    const response = parseResponse(this.buffer)
    if (!response) return
    this.buffer = response.rest.length > 0 ? response.rest : undefined
    const pending = this.pending
    this.pending = undefined
    if (response.close) { this.socket.end(); this.socket = undefined }
    if (pending) pending.resolve(response)
  }

  close() { this.socket?.destroy(); this.socket = undefined }
}

/** Parses one complete response from the buffer, or returns undefined if more bytes are needed. */
function parseResponse(buffer) {
  const headEnd = buffer.indexOf(CRLF2)
  if (headEnd < 0) return undefined
  const head = buffer.toString('latin1', 0, headEnd)
  const lines = head.split('\r\n')
  const status = Number(lines[0].slice(9, 12))
  let length = -1
  let chunked = false
  let close = false
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).toLowerCase()
    const value = line.slice(colon + 1).trim().toLowerCase()
    if (name === 'content-length') length = Number(value)
    else if (name === 'transfer-encoding') chunked = value.includes('chunked')
    else if (name === 'connection') close = value === 'close'
  }
  const start = headEnd + 4
  if (!chunked) {
    if (length < 0) length = 0
    if (buffer.length < start + length) return undefined
    return { status, body: buffer.subarray(start, start + length), rest: buffer.subarray(start + length), close }
  }
  const parts = []
  let at = start
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at, 'latin1')
    if (lineEnd < 0) return undefined
    const size = parseInt(buffer.toString('latin1', at, lineEnd), 16)
    if (size === 0) {
      // Last chunk; no trailers expected from these servers.
      if (buffer.length < lineEnd + 4) return undefined
      return { status, body: Buffer.concat(parts), rest: buffer.subarray(lineEnd + 4), close }
    }
    if (buffer.length < lineEnd + 2 + size + 2) return undefined
    parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}

/** Builds the bytes of a POST with a form body (ASCII). */
export function formPost(url, path, body) {
  return `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-www-form-urlencoded\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body}`
}

/**
 * Result accounting shared by both loops. `check(response)` says whether a response is a success.
 * Latencies are kept in a growable Float64Array (ms).
 */
class Recorder {
  constructor() {
    this.latencies = new Float64Array(1 << 16)
    this.count = 0
    this.errors = 0
    this.statuses = {}
    this.firstError = undefined
  }

  ok(ms) {
    if (this.count === this.latencies.length) {
      const bigger = new Float64Array(this.latencies.length * 2)
      bigger.set(this.latencies)
      this.latencies = bigger
    }
    this.latencies[this.count++] = ms
  }

  error(what) {
    this.errors++
    this.statuses[what] = (this.statuses[what] ?? 0) + 1
    this.firstError ??= what
  }

  summary(seconds) {
    const sorted = this.latencies.slice(0, this.count).sort()
    const pct = (p) => (sorted.length === 0 ? null : round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]))
    return {
      requests: this.count + this.errors,
      ok: this.count,
      errors: this.errors,
      ...(this.errors > 0 ? { error_kinds: this.statuses, first_error: this.firstError } : {}),
      seconds: round(seconds),
      per_s: Math.round(this.count / seconds),
      p50_ms: pct(50),
      p90_ms: pct(90),
      p99_ms: pct(99),
      p999_ms: pct(99.9),
      max_ms: sorted.length === 0 ? null : round(sorted[sorted.length - 1]),
    }
  }
}

const round = (x) => Math.round(x * 100) / 100

function classify(response, check) {
  // 2xx: POST /ssh/certificates answers 201 Created.
  if (response.status < 200 || response.status > 299) return `status_${response.status}:${response.body.toString('utf8', 0, 200)}`
  return check(response) ? undefined : `bad_body:${response.body.toString('utf8', 0, 200)}`
}

/**
 * Closed loop: `concurrency` connections, each sending back to back for `seconds`.
 * `makeRequest()` returns the next request bytes (a fresh assertion each). `onTick(elapsedS)` runs every 100 ms.
 */
export async function closedLoop({ url, concurrency, seconds, makeRequest, check, onProgress }) {
  const recorder = new Recorder()
  const connections = Array.from({ length: concurrency }, () => new Connection(url))
  await Promise.all(connections.map((c) => c.open()))
  const start = performance.now()
  const end = start + seconds * 1000
  const progress = onProgress && setInterval(() => onProgress((performance.now() - start) / 1000, recorder), 1000)
  await Promise.all(connections.map(async (connection) => {
    while (performance.now() < end) {
      const request = makeRequest()
      const sent = performance.now()
      try {
        const response = await connection.send(request)
        const bad = classify(response, check)
        if (bad) recorder.error(bad)
        else recorder.ok(performance.now() - sent)
      } catch (error) {
        recorder.error(`network:${error.code ?? error.message}`)
        await new Promise((r) => setTimeout(r, 10))
      }
    }
  }))
  const elapsed = (performance.now() - start) / 1000
  if (progress) clearInterval(progress)
  for (const c of connections) c.close()
  return recorder.summary(elapsed)
}

/**
 * Open loop: `rate` requests per second for `seconds`, scheduled on a fixed timetable.
 * Latency = answer time − scheduled time (a request that waits for a connection is late, and that counts).
 */
export async function openLoop({ url, rate, seconds, makeRequest, check, initialConnections = 16, maxConnections = 512 }) {
  const recorder = new Recorder()
  const idle = Array.from({ length: initialConnections }, () => new Connection(url))
  await Promise.all(idle.map((c) => c.open()))
  let opened = idle.length
  const waiting = [] // scheduled times of requests that found no connection
  const total = Math.round(rate * seconds)
  const interval = 1000 / rate
  let scheduled = 0
  let done = 0
  let maxLagMs = 0
  // The generator's own event-loop delay: a late timer or a late read adds to every latency measured here, so it
  // bounds how low a p99 this host can show at all.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 })
  loopDelay.enable()
  const start = performance.now()

  const finished = new Promise((resolve) => {
    const fire = (connection, at) => {
      const request = makeRequest()
      connection.send(request).then((response) => {
        const bad = classify(response, check)
        if (bad) recorder.error(bad)
        else recorder.ok(performance.now() - at)
      }, (error) => {
        recorder.error(`network:${error.code ?? error.message}`)
      }).finally(() => {
        done++
        if (waiting.length > 0) fire(connection, waiting.shift())
        else idle.push(connection)
        if (done === total) resolve()
      })
    }
    const tick = () => {
      const now = performance.now()
      while (scheduled < total && start + scheduled * interval <= now) {
        const at = start + scheduled * interval
        maxLagMs = Math.max(maxLagMs, now - at)
        scheduled++
        const connection = idle.pop() ?? (opened < maxConnections ? (opened++, new Connection(url)) : undefined)
        if (connection) fire(connection, at)
        else waiting.push(at)
      }
      if (scheduled < total) setTimeout(tick, Math.max(0, start + scheduled * interval - performance.now()))
    }
    tick()
  })
  await finished
  const elapsed = (performance.now() - start) / 1000
  for (const c of idle) c.close()
  loopDelay.disable()
  return {
    offered_per_s: rate, connections_used: opened, max_schedule_lag_ms: round(maxLagMs),
    generator_loop_delay_ms: { p99: round(loopDelay.percentile(99) / 1e6), max: round(loopDelay.max / 1e6) },
    ...recorder.summary(elapsed),
  }
}
