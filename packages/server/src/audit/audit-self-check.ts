/** The server's own check of its audit chain: at start-up and on a schedule, from the head it verified last. */
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { AuditRepository } from '../storage/audit-repository.js'
import type { ChainHead } from './audit-record.js'
import { verifyChain, type ChainReport } from './verify-chain.js'

export interface AuditSelfCheckDeps {
  audit: Pick<AuditRepository, 'head' | 'page' | 'verifiedHead' | 'recordVerified'>
  clock: Clock
  logger: Logger
  /** Refuse to issue tokens once the chain is found broken (fail closed). */
  haltIssuance: boolean
  /**
   * Runs verifyChain from `from` (the whole chain without it). By default on `audit`, in this thread; a SQLite file
   * walks on its maintenance thread instead, so the hashing never competes with requests for the event loop.
   */
  walk?: (from: ChainHead | undefined, pageSize: number) => Promise<ChainReport>
}

/** What `GET /v1/status` shows of the last check. */
export interface SelfCheckStatus {
  /** `pending` until the first check of this process has finished; `error` when storage could not be read. */
  state: 'pending' | 'ok' | 'broken' | 'error'
  /** When this process last finished a check (ISO 8601). */
  checked_at?: string
  /** The head verified so far: by this process, or, before its first check, by the process before. */
  verified?: { seq: number; hash: string; at: string }
  first_bad?: { seq: number; reason: string }
  error?: string
}

// A page of records hashes in ~10 ms here (bench/audit-verify: ~17 µs per record); requests run between pages.
const PAGE = 500

export class AuditSelfCheck {
  /**
   * Read once per token request, so it is a plain field: the token endpoint does no I/O for the check.
   * INVARIANT: once true it stays true for the life of the process; a chain that was broken is not trusted again
   * until an operator has repaired it and restarted the server, which then checks it afresh.
   */
  issuanceHalted = false
  private last: SelfCheckStatus = { state: 'pending' }
  private running: Promise<SelfCheckStatus> | undefined
  private timer: NodeJS.Timeout | undefined

  private readonly walk: NonNullable<AuditSelfCheckDeps['walk']>

  constructor(private readonly deps: AuditSelfCheckDeps) {
    this.walk = deps.walk ?? ((from, pageSize) => verifyChain(deps.audit, { ...(from ? { from } : {}), pageSize }))
  }

  /** Verifies the records appended since the verified head; one check at a time (a caller during one joins it). */
  check(): Promise<SelfCheckStatus> {
    this.running ??= this.run().finally(() => { this.running = undefined })
    return this.running
  }

  /** Checks every `intervalMs` until stop(). */
  start(intervalMs: number): void {
    this.timer = setInterval(() => { void this.check() }, intervalMs)
    this.timer.unref()
  }

  /** Stops the schedule and waits for a check under way (storage closes after it). */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.running
  }

  status(): SelfCheckStatus {
    return this.last
  }

  private async run(): Promise<SelfCheckStatus> {
    // A broken chain stays broken (see issuanceHalted): walking it again would only find the same record.
    if (this.last.state === 'broken') return this.last
    const { audit, clock, logger } = this.deps
    try {
      const verified = await audit.verifiedHead()
      if (this.last.state === 'pending' && verified.seq > 0) {
        this.last = { state: 'pending', verified: { seq: verified.seq, hash: verified.hash, at: iso(verified.verifiedAt) } }
      }
      const from = verified.seq > 0 ? { seq: verified.seq, hash: verified.hash } : undefined
      const report = await this.walk(from, PAGE)
      const nowMs = clock.nowMs()
      if (report.ok) {
        await audit.recordVerified({ seq: report.headSeq, hash: report.headHash }, nowMs)
        this.last = { state: 'ok', checked_at: iso(nowMs), verified: { seq: report.headSeq, hash: report.headHash, at: iso(nowMs) } }
        return this.last
      }
      const firstBad = report.firstBad as { seq: number; reason: string }
      this.issuanceHalted = this.deps.haltIssuance
      const { error: _error, ...rest } = this.last
      this.last = { ...rest, state: 'broken', checked_at: iso(nowMs), first_bad: firstBad }
      // Logged once: from then on the state, not the log, says it (writ status).
      logger.error('the audit chain is broken', {
        seq: firstBad.seq, reason: firstBad.reason,
        issuance: this.deps.haltIssuance ? 'halted' : 'continues (audit.haltIssuanceOnBrokenChain is false)',
      })
    } catch (error) {
      // Unreadable storage is not evidence of tampering: it is said, and the audit append fails closed on its own.
      logger.warn('the audit self-check could not read storage', { error: String(error) })
      this.last = { ...this.last, state: 'error', checked_at: iso(clock.nowMs()), error: 'storage could not be read' }
    }
    return this.last
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
