/**
 * Group commit for the token endpoint: the outcomes of many requests (assertion use, token issue, denial) are made
 * durable in one transaction with their audit records, and only then answered. One fsync serves a whole batch.
 */
import { WritError } from '@writ/sdk'
import type { AuditEvent } from '../audit/audit-record.js'
import type { Clock } from '../clock.js'
import type { IssuanceRepositories, Storage } from '../storage/storage.js'
import type { IssuedTokenRow } from '../storage/token-repository.js'
import type { Approval } from '../oversight/approval.js'

export interface IssuanceEntry {
  /** The authenticated assertion to consume (single use), if the request got that far. */
  assertion?: { clientId: string; jti: string; expiresAtMs: number }
  /** The agent whose status and version the decision relied on. */
  agent?: { id: string; version: number }
  /** The token to record if every check passes. */
  token?: IssuedTokenRow
  /** A held request to store (human oversight). */
  hold?: Approval
  /** The approval this token spends: it must still be approved and unexpired, and is used up with the commit. */
  spendApproval?: { authReqId: string }
  /** Audit record of the outcome as decided before commit (issue, hold or denial); a pending poll records none. */
  audit?: AuditEvent
}

export type IssuanceOutcome = 'committed' | 'assertion_replayed' | 'agent_not_active' | 'agent_changed' | 'approval_unavailable'

interface Pending {
  entry: IssuanceEntry
  resolve: (outcome: IssuanceOutcome) => void
  reject: (error: unknown) => void
}

/** Makes one batch durable in one transaction and returns each entry's outcome, in order; rejects if nothing committed. */
export type BatchWriter = (entries: IssuanceEntry[], nowMs: number) => Promise<IssuanceOutcome[]>

/** The batch written on this thread, in a transaction of `storage` (PostgreSQL, SQLite `:memory:`, tests). */
export function transactionWriter(storage: Storage): BatchWriter {
  return (entries, nowMs) => storage.transaction((tx) => writeIssuances(tx, entries, nowMs))
}

export class IssuanceLog {
  private queue: Pending[] = []
  private scheduled = false
  private inFlight = 0

  /**
   * `maxInFlight` batches may be handed to the writer before the first is answered: the next batch then waits in the
   * writer's queue instead of for a round trip, so the committing connection never idles between two batches.
   * The writer commits them in order (one SQLite connection; PostgreSQL serialises them on the audit head row).
   */
  constructor(
    private readonly writer: BatchWriter, private readonly clock: Clock, private readonly maxBatch: number, private readonly maxInFlight = 1,
  ) {}

  /** Resolves once the outcome and its audit record are committed; rejects (AUDIT_UNAVAILABLE) if they are not. */
  commit(entry: IssuanceEntry): Promise<IssuanceOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        // Yield one turn so requests that arrived together share the transaction.
        setImmediate(() => {
          this.scheduled = false
          this.dispatch()
        })
      }
    })
  }

  /** Waits until everything queued so far is committed (graceful shutdown). */
  async flush(): Promise<void> {
    while (this.scheduled || this.inFlight > 0 || this.queue.length > 0) await new Promise((r) => setImmediate(r))
  }

  private dispatch(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch)
      this.inFlight++
      this.writer(batch.map((p) => p.entry), this.clock.nowMs()).then(
        (outcomes) => batch.forEach((p, i) => p.resolve(outcomes[i] as IssuanceOutcome)),
        (cause: unknown) => {
          // Fail closed: without a committed audit record nothing leaves the server.
          const error = new WritError('AUDIT_UNAVAILABLE', 'the audit log cannot be written; nothing was issued', { cause })
          for (const p of batch) p.reject(error)
        },
      ).finally(() => {
        this.inFlight--
        this.dispatch()
      })
    }
  }
}

/**
 * One batch inside the caller's transaction: spend the assertion jtis, re-check agent status, record tokens, holds
 * and approvals, and append the audit records. The same function runs on the event loop or on the commit thread.
 */
export async function writeIssuances(tx: IssuanceRepositories, entries: readonly IssuanceEntry[], now: number): Promise<IssuanceOutcome[]> {
  const fresh = await tx.tokens.useAssertions(entries.flatMap((e) => e.assertion
    ? [{ client_id: e.assertion.clientId, jti: e.assertion.jti, expires_at: e.assertion.expiresAtMs }] : []))
  // The authoritative status check: read inside the transaction that issues, so a committed suspension wins.
  const statuses = await tx.agents.statuses([...new Set(entries.flatMap((e) => ((e.token || e.hold) && e.agent ? [e.agent.id] : [])))])
  const tokens: IssuedTokenRow[] = []
  const events: AuditEvent[] = []
  const outcomes: IssuanceOutcome[] = []
  for (const entry of entries) {
    let outcome = judge(entry, fresh, statuses)
    // Two uses of one jti in the same batch: the first consumes it, so the second is a replay.
    if (entry.assertion) fresh.delete(`${entry.assertion.clientId} ${entry.assertion.jti}`)
    if (outcome === 'committed' && entry.spendApproval && entry.token) {
      if (!(await tx.approvals.consume(entry.spendApproval.authReqId, entry.token.jti, now))) outcome = 'approval_unavailable'
    }
    if (outcome === 'committed') {
      if (entry.hold) await tx.approvals.insert(entry.hold)
      if (entry.token) tokens.push(entry.token)
      if (entry.audit) events.push(entry.audit)
    } else if (entry.audit) {
      events.push(denial(entry.audit, outcome))
    }
    outcomes.push(outcome)
  }
  await tx.tokens.recordIssued(tokens)
  await tx.audit.append(events, now)
  return outcomes
}

function judge(entry: IssuanceEntry, fresh: Set<string>, statuses: Map<string, { status: string; version: number }>): IssuanceOutcome {
  if (entry.assertion && !fresh.has(`${entry.assertion.clientId} ${entry.assertion.jti}`)) return 'assertion_replayed'
  if ((entry.token || entry.hold) && entry.agent) {
    const current = statuses.get(entry.agent.id)
    if (!current || current.status !== 'active') return 'agent_not_active'
    if (current.version !== entry.agent.version) return 'agent_changed'
  }
  return 'committed'
}

/** The decision made before commit is overturned: record the denial and why, and never the token id as issued. */
function denial(event: AuditEvent, outcome: Exclude<IssuanceOutcome, 'committed'>): AuditEvent {
  const { token: _token, ...rest } = event
  return { ...rest, type: 'token.deny', decision: { effect: 'deny', reasons: [outcome] }, data: { ...rest.data, overturned: event.type } }
}
