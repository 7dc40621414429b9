/**
 * The SQLite maintenance thread's entry: checkpoints the WAL, prunes expired replay rows and walks the audit chain for
 * the self-check on its own connection, so that none of them stalls the event loop or the commit thread (a checkpoint
 * inside a commit stalls every token in it; hashing a minute of records costs the event loop seconds at full load).
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { ChainHead } from '../audit/audit-record.js'
import { verifyChain } from '../audit/verify-chain.js'
import { openSqliteDatabase } from './open-sqlite-database.js'
import { sqliteAuditPages } from './sqlite-audit-pages.js'
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
const auditPages = sqliteAuditPages(database)

// PASSIVE copies what it can without blocking writers or readers; the WAL restarts once a pass has caught up.
const checkpoint = setInterval(() => {
  try {
    database.pragma('wal_checkpoint(PASSIVE)')
  } catch (error) {
    warn('wal checkpoint', error)
  }
}, checkpointIntervalMs)

type Message = { prune: number } | { verify: number; from?: ChainHead; pageSize: number } | 'close'

let pruning = false
let verifying: Promise<void> | undefined
port.on('message', (message: Message) => {
  if (message === 'close') {
    clearInterval(checkpoint)
    // A walk under way reads through this connection: it finishes (and answers) before the connection closes.
    void (verifying ?? Promise.resolve()).then(() => {
      database.close()
      port.close()
    })
    return
  }
  if ('verify' in message) {
    const id = message.verify
    verifying = verifyChain(auditPages, { ...(message.from ? { from: message.from } : {}), pageSize: message.pageSize })
      .then((report) => port.postMessage({ verified: id, report }))
      .catch((error: unknown) => port.postMessage({ verified: id, error: error instanceof Error ? error.message : String(error) }))
      .finally(() => { verifying = undefined })
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
