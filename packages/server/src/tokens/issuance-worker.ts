/**
 * The commit thread's entry: its own connection to the SQLite file, running writeIssuances for each batch it is sent.
 * SQLite's fsync blocks the thread that commits; here that is this thread, never the event loop serving requests.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { openSqliteDatabase } from '../storage/open-sqlite-database.js'
import { SqliteIssuanceStore } from '../storage/sqlite-issuance-store.js'
import { writeIssuances, type IssuanceEntry } from './write-issuances.js'
import type { BatchRequest, BatchReply } from './issuance-thread.js'

const port = parentPort
if (port === null) throw new TypeError('issuance-worker runs as a worker thread')
const { sqlitePath } = workerData as { sqlitePath: string }

// The server migrated the file before it started this thread. The maintenance thread checkpoints the WAL every
// 100 ms; the commit's own checkpoint (which would stall every token of its batch) is only a backstop.
const database = openSqliteDatabase(sqlitePath, 8_000)
const store = new SqliteIssuanceStore(database)
port.on('message', (message: BatchRequest | 'close') => {
  if (message === 'close') {
    database.close()
    port.close()
    return
  }
  store.transaction((tx) => writeIssuances(tx, JSON.parse(message.entries) as IssuanceEntry[], message.nowMs)).then(
    (outcomes) => port.postMessage({ id: message.id, outcomes } satisfies BatchReply),
    // Only the message crosses: SQLite errors name tables and constraints, never the values written.
    (error: unknown) => port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies BatchReply),
  )
})
port.postMessage('ready')
