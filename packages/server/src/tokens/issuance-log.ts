/**
 * Group commit for the token endpoint: the outcomes of many requests (assertion use, token issue, denial) are made
 * durable in one transaction with their audit records, and only then answered. One fsync serves a whole batch.
 */
import { WritError } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'
import { writeIssuances, type IssuanceEntry, type IssuanceOutcome } from './write-issuances.js'

export type { IssuanceEntry, IssuanceOutcome } from './write-issuances.js'

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
