/**
 * Starts and stops the SQLite maintenance thread (sqlite-maintenance-worker.ts): WAL checkpoints, replay-row pruning,
 * and the audit self-check's walk of the chain.
 */
import type { Worker } from 'node:worker_threads'
import type { ChainHead } from '../audit/audit-record.js'
import type { ChainReport } from '../audit/verify-chain.js'
import type { Logger } from '../logger.js'
import { closeSqliteWorker, compiledWorker, startSqliteWorker } from './sqlite-thread.js'

const WORKER = compiledWorker(new URL('./sqlite-maintenance-worker.js', import.meta.url))
const CHECKPOINT_INTERVAL_MS = 100
// 250 rows a chunk and 10 ms between chunks: up to 25,000 rows/s, the write lock held ~1 ms at a time.
const PRUNE_CHUNK = 250
const PRUNE_PAUSE_MS = 10

export class SqliteMaintenanceThread {
  /** Whether the compiled worker exists beside this module (it does in a build; not when tests run the sources). */
  static available(): boolean {
    return WORKER !== undefined
  }

  static async start(sqlitePath: string, logger: Logger): Promise<SqliteMaintenanceThread> {
    const thread = new SqliteMaintenanceThread(sqlitePath, logger)
    await thread.spawn()
    return thread
  }

  private worker: Worker | undefined
  private closed = false
  private nextWalk = 0
  private readonly walks = new Map<number, { resolve(report: ChainReport): void; reject(error: Error): void }>()

  private constructor(private readonly sqlitePath: string, private readonly logger: Logger) {}

  /** Deletes replay rows that expired before `nowMs`, a chunk at a time. */
  prune(nowMs: number): void {
    this.worker?.postMessage({ prune: nowMs })
  }

  /** verifyChain on this thread's connection, from `from` (the whole chain without it); rejects if the thread dies. */
  verifyChain(from: ChainHead | undefined, pageSize: number): Promise<ChainReport> {
    const worker = this.worker
    if (worker === undefined) return Promise.reject(new Error('the sqlite maintenance thread is not running'))
    const id = ++this.nextWalk
    return new Promise((resolve, reject) => {
      this.walks.set(id, { resolve, reject })
      worker.postMessage({ verify: id, ...(from ? { from } : {}), pageSize })
    })
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.worker !== undefined) await closeSqliteWorker(this.worker)
  }

  private async spawn(): Promise<void> {
    if (WORKER === undefined) throw new TypeError('the compiled maintenance worker is missing; check available() first')
    const worker = await startSqliteWorker(
      WORKER,
      { sqlitePath: this.sqlitePath, checkpointIntervalMs: CHECKPOINT_INTERVAL_MS, pruneChunk: PRUNE_CHUNK, prunePauseMs: PRUNE_PAUSE_MS },
      { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 24 },
    )
    worker.on('message', (message: { warning?: string; verified?: number; report?: ChainReport; error?: string }) => {
      if (message.warning !== undefined) this.logger.warn('sqlite maintenance', { error: message.warning })
      if (message.verified === undefined) return
      const walk = this.walks.get(message.verified)
      this.walks.delete(message.verified)
      if (message.report !== undefined) walk?.resolve(message.report)
      else walk?.reject(new Error(message.error ?? 'the audit walk failed'))
    })
    worker.on('error', (error) => this.logger.error('sqlite maintenance thread failed', { error: error.message }))
    worker.on('exit', () => {
      this.worker = undefined
      // A walk the thread did not answer is an error for the self-check (reported as such), never a verified chain.
      for (const walk of this.walks.values()) walk.reject(new Error('the sqlite maintenance thread exited during an audit walk'))
      this.walks.clear()
      // Without it the WAL would only be checkpointed by the commits' own backstop: start another.
      if (!this.closed) this.spawn().catch((error: unknown) => this.logger.error('sqlite maintenance thread cannot restart', { error: String(error) }))
    })
    this.worker = worker
  }
}
