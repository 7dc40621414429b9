/** Starts and stops the SQLite maintenance thread (sqlite-maintenance-worker.ts): WAL checkpoints and replay-row pruning. */
import type { Worker } from 'node:worker_threads'
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

  private constructor(private readonly sqlitePath: string, private readonly logger: Logger) {}

  /** Deletes replay rows that expired before `nowMs`, a chunk at a time. */
  prune(nowMs: number): void {
    this.worker?.postMessage({ prune: nowMs })
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
    worker.on('message', (message: { warning?: string }) => {
      if (message.warning !== undefined) this.logger.warn('sqlite maintenance', { error: message.warning })
    })
    worker.on('error', (error) => this.logger.error('sqlite maintenance thread failed', { error: error.message }))
    worker.on('exit', () => {
      this.worker = undefined
      // Without it the WAL would only be checkpointed by the commits' own backstop: start another.
      if (!this.closed) this.spawn().catch((error: unknown) => this.logger.error('sqlite maintenance thread cannot restart', { error: String(error) }))
    })
    this.worker = worker
  }
}
