/** CIBA poll mode (OpenID CIBA Core §7.3, §11) from the agent's side: poll a held request until a human decides. */
import { WritError } from '../errors/writ-error.js'
import type { CapabilityGrant } from './agent-client.js'

export interface ApprovalPendingInfo {
  authReqId: string
  /** Seconds until the held request expires, as the server said when it held it. */
  expiresIn: number
  /** Seconds between polls the server asks for. */
  interval: number
}

export interface WaitForApprovalOptions {
  /** Give up after this long (Infinity: until the server says the request expired or was decided). */
  timeoutMs: number
  /** Called once, when the request is held, e.g. to tell a human which auth_req_id to approve. */
  onPending?: (info: ApprovalPendingInfo) => void
}

export interface WaitDeps {
  poll: (authReqId: string) => Promise<CapabilityGrant>
  sleep: (ms: number) => Promise<void>
  /** Monotonic milliseconds; defaults to performance.now(). */
  nowMs?: () => number
}

// CIBA §7.3: without an interval from the server the client waits 5 s; §11: each slow_down adds 5 s for good.
const DEFAULT_INTERVAL_SECONDS = 5
const SLOW_DOWN_STEP_SECONDS = 5

export function checkWaitOptions(options: WaitForApprovalOptions): void {
  if (typeof options.timeoutMs !== 'number' || Number.isNaN(options.timeoutMs) || options.timeoutMs < 0) {
    throw new TypeError('waitForApproval.timeoutMs must be a number of milliseconds, 0 or more')
  }
  if (options.onPending !== undefined && typeof options.onPending !== 'function') throw new TypeError('waitForApproval.onPending must be a function')
}

/** Reads the CIBA members of an APPROVAL_PENDING error, or undefined when it carries no auth_req_id to poll with. */
export function pendingInfo(error: WritError): ApprovalPendingInfo | undefined {
  const authReqId = error.extra.auth_req_id
  if (typeof authReqId !== 'string' || authReqId.length === 0) return undefined
  return { authReqId, expiresIn: seconds(error.extra.expires_in) ?? 0, interval: seconds(error.extra.interval) ?? DEFAULT_INTERVAL_SECONDS }
}

/**
 * Polls at the server's interval until the grant arrives. A denial, expiry or unknown auth_req_id ends the wait with
 * the server's WritError; reaching timeoutMs ends it with APPROVAL_PENDING (reason `approval_wait_timeout`).
 */
export async function waitForApproval(pending: WritError, options: WaitForApprovalOptions, deps: WaitDeps): Promise<CapabilityGrant> {
  const info = pendingInfo(pending)
  if (info === undefined) throw pending
  options.onPending?.(info)

  const nowMs = deps.nowMs ?? (() => performance.now())
  const startedAt = nowMs()
  let slept = 0
  // Whole seconds, the unit of CIBA intervals, so that `timeoutMs: 1000` with a 1 s interval still makes its one poll.
  // With an injected sleep no real time passes; counting the sleeps keeps the timeout meaningful in tests too.
  const elapsed = () => Math.max(slept, Math.floor((nowMs() - startedAt) / 1000) * 1000)
  let interval = info.interval
  for (;;) {
    // Polling before the interval ends only earns a slow_down, so a wait that cannot reach the next poll stops here.
    if (elapsed() + interval * 1000 > options.timeoutMs) throw timedOut(pending, info, interval, elapsed())
    await deps.sleep(interval * 1000)
    slept += interval * 1000
    try {
      return await deps.poll(info.authReqId)
    } catch (error) {
      if (!(error instanceof WritError)) throw error
      switch (error.code) {
        case 'APPROVAL_PENDING':
          interval = Math.max(interval, seconds(error.extra.interval) ?? interval)
          break
        case 'APPROVAL_SLOW_DOWN':
          interval = Math.max(interval + SLOW_DOWN_STEP_SECONDS, seconds(error.extra.interval) ?? 0)
          break
        case 'SERVER_UNAVAILABLE':
          // A network blip or a restart should not lose a human's approval; the next poll tries again.
          break
        default:
          throw error
      }
    }
  }
}

function timedOut(pending: WritError, info: ApprovalPendingInfo, interval: number, elapsedMs: number): WritError {
  const waited = Math.round(elapsedMs / 1000)
  return new WritError('APPROVAL_PENDING', `the wait for approval timed out after ${waited} s; \`${info.authReqId}\` is still pending`, {
    reasons: ['approval_wait_timeout', ...pending.reasons],
    extra: { auth_req_id: info.authReqId, expires_in: Math.max(0, info.expiresIn - waited), interval },
    cause: pending,
  })
}

/** A positive whole number of seconds from a server-supplied member, else undefined. */
function seconds(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value
  return typeof number === 'number' && Number.isInteger(number) && number > 0 ? number : undefined
}
