/**
 * The SQLite maintenance thread's entry: checkpoints the WAL and prunes expired replay rows on its own connection,
 * so that neither stalls the event loop or the commit thread (a checkpoint inside a commit stalls every token in it).
 */
import { parentPort, workerData } from 'node:worker_threads'
import BetterSqlite3 from 'better-sqlite3'

const port = parentPort
if (port === null) throw new TypeError('sqlite-maintenance-worker runs as a worker thread')
const { sqlitePath, checkpointIntervalMs, pruneChunk, prunePauseMs } = workerData as {
  sqlitePath: string; checkpointIntervalMs: number; pruneChunk: number; prunePauseMs: number
}

const db = new BetterSqlite3(sqlitePath)
db.pragma('busy_timeout = 5000')
db.pragma('synchronous = FULL')
// Small chunks, each its own short transaction: the commit thread's next batch waits for one chunk at most.
const pruneChunkStatement = db.prepare('delete from used_assertions where rowid in (select rowid from used_assertions where expires_at < ? limit ?)')

// PASSIVE copies what it can without blocking writers or readers; the WAL restarts once a pass has caught up.
const checkpoint = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
  } catch (error) {
    port.postMessage({ warning: `wal checkpoint failed: ${error instanceof Error ? error.message : String(error)}` })
  }
}, checkpointIntervalMs)

let pruning = false
port.on('message', (message: { prune: number } | 'close') => {
  if (message === 'close') {
    clearInterval(checkpoint)
    db.close()
    port.close()
    return
  }
  if (pruning) return
  pruning = true
  const prune = (): void => {
    try {
      const { changes } = pruneChunkStatement.run(message.prune, pruneChunk)
      if (changes === pruneChunk) {
        // A pause between chunks lets the commit thread's batches in; the rate still outruns any issuance rate.
        setTimeout(prune, prunePauseMs)
        return
      }
    } catch (error) {
      port.postMessage({ warning: `prune failed: ${error instanceof Error ? error.message : String(error)}` })
    }
    pruning = false
  }
  prune()
})
port.postMessage('ready')
