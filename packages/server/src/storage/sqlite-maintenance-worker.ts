/**
 * The SQLite maintenance thread's entry: checkpoints the WAL and prunes expired replay rows on its own connection,
 * so that neither stalls the event loop or the commit thread (a checkpoint inside a commit stalls every token in it).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { openSqliteDatabase } from './open-sqlite-database.js'
import { sqliteReplayPruner } from './sqlite-replay-pruner.js'

const port = parentPort
if (port === null) throw new TypeError('sqlite-maintenance-worker runs as a worker thread')
const { sqlitePath, checkpointIntervalMs, pruneChunk, prunePauseMs } = workerData as {
  sqlitePath: string; checkpointIntervalMs: number; pruneChunk: number; prunePauseMs: number
}
const warn = (what: string, error: unknown): void => {
  port.postMessage({ warning: `${what} failed: ${error instanceof Error ? error.message : String(error)}` })
}

// The server migrated the file before it started this thread. Only the statement it prunes with is loaded here, not
// the storage nor Kysely: every module a worker loads costs its own isolate's memory.
const database = openSqliteDatabase(sqlitePath)
const pruneAssertions = sqliteReplayPruner(database)

// PASSIVE copies what it can without blocking writers or readers; the WAL restarts once a pass has caught up.
const checkpoint = setInterval(() => {
  try {
    database.pragma('wal_checkpoint(PASSIVE)')
  } catch (error) {
    warn('wal checkpoint', error)
  }
}, checkpointIntervalMs)

let pruning = false
port.on('message', (message: { prune: number } | 'close') => {
  if (message === 'close') {
    clearInterval(checkpoint)
    database.close()
    port.close()
    return
  }
  if (pruning) return
  pruning = true
  // Small chunks, each its own short transaction, with a pause between them that lets the commit thread's batches in.
  const prune = (): void => {
    try {
      if (pruneAssertions(message.prune, pruneChunk) === pruneChunk) setTimeout(prune, prunePauseMs)
      else pruning = false
    } catch (error) {
      warn('prune', error)
      pruning = false
    }
  }
  prune()
})
port.postMessage('ready')
