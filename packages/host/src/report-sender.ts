/**
 * Sends spooled action reports to `POST /hosts/actions`, oldest first, in batches, retrying with backoff while the
 * control plane is unreachable. A report is marked sent only after a 200; the server dedupes by report id, so a
 * report sent twice (a crash between the 200 and the mark) is harmless, and none is lost.
 */
import type { ActionReport, HostState } from './host-state.js'
import type { ApiTokenSource } from './api-token-source.js'

export interface ReportSenderOptions {
  state: HostState
  /** `<issuer>/hosts/actions` */
  endpoint: string
  apiToken: ApiTokenSource
  fetch?: typeof fetch
  /** Retry delays: doubling from `initialMs` to `maxMs`. Default 500 ms to 30 s. */
  backoff?: { initialMs?: number; maxMs?: number }
  /** A started report whose end never came (sudo killed) is sent as is after this long. Default 10 min. */
  staleAfterMs?: number
  /** Idle poll for stale reports. Default 30 s. */
  idleMs?: number
  batchSize?: number
  log: (entry: Record<string, unknown>) => void
  nowMs?: () => number
}

export interface ReportSender {
  /** Sends what is pending now (called after every completed run). */
  kick(): void
  /** Resolves when nothing sendable is pending, or rejects after one failed attempt. For tests and shutdown. */
  flush(): Promise<void>
  close(): void
}

export function startReportSender(options: ReportSenderOptions): ReportSender {
  const fetchImpl = options.fetch ?? fetch
  const initialMs = options.backoff?.initialMs ?? 500
  const maxMs = options.backoff?.maxMs ?? 30_000
  const staleAfterMs = options.staleAfterMs ?? 10 * 60_000
  const idleMs = options.idleMs ?? 30_000
  const batchSize = options.batchSize ?? 100
  const nowMs = options.nowMs ?? Date.now
  let delayMs = initialMs
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let again = false
  let closed = false

  /** Sends one batch; true when it sent something. */
  async function sendBatch(): Promise<boolean> {
    const reports = options.state.pending(batchSize, nowMs() - staleAfterMs)
    if (reports.length === 0) return false
    const status = await post(reports)
    if (status === 200) {
      options.state.markSent(reports.map((r) => r.id))
      options.log({ event: 'reports.sent', count: reports.length })
      return true
    }
    if (status !== 400) throw new Error(`POST /hosts/actions answered ${status}`)
    // One report the server can never take must not hold the spool hostage: send one by one, drop what it refuses.
    for (const report of reports) {
      const single = await post([report])
      if (single === 400) options.log({ event: 'report.dropped', report_id: report.id, jti: report.jti, reason: 'refused_by_server' })
      else if (single !== 200) throw new Error(`POST /hosts/actions answered ${single}`)
      options.state.markSent([report.id])
    }
    return true
  }

  async function post(reports: ActionReport[]): Promise<number> {
    let refresh = false
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = await options.apiToken(refresh)
      const response = await fetchImpl(options.endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ reports }),
        signal: AbortSignal.timeout(10_000),
      })
      await response.arrayBuffer().catch(() => undefined)
      if (response.status === 401 && !refresh) {
        refresh = true
        continue
      }
      return response.status
    }
    throw new Error('POST /hosts/actions refused the host API token')
  }

  async function drain(): Promise<void> {
    while (!closed && (await sendBatch())) { /* until the spool is empty */ }
  }

  function schedule(ms: number): void {
    if (closed) return
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(run, ms)
    timer.unref()
  }

  function run(): void {
    timer = undefined
    if (running !== undefined) {
      again = true
      return
    }
    running = drain().then(
      () => {
        delayMs = initialMs
        schedule(idleMs)
      },
      (error: unknown) => {
        options.log({ event: 'reports.retry', error: String((error as Error).message ?? error), retry_ms: delayMs })
        schedule(delayMs)
        delayMs = Math.min(delayMs * 2, maxMs)
      },
    ).finally(() => {
      running = undefined
      if (again) {
        again = false
        run()
      }
    })
  }

  schedule(0)
  return {
    kick: () => schedule(0),
    async flush() {
      while (running !== undefined) await running.catch(() => undefined)
      await drain()
    },
    close() {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
    },
  }
}
