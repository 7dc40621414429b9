/**
 * openSqliteDatabase(): a connection to the SQLite file with Writ's durable settings. Every connection to the file is
 * opened here: the storage's (through Kysely), the commit thread's and the maintenance thread's. It imports nothing
 * else, so the threads load no more than they use (each module a worker loads costs its isolate memory).
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'

export function openSqliteDatabase(path: string, walAutocheckpointPages?: number): BetterSqlite3.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const database = new BetterSqlite3(path)
  // WAL + synchronous=FULL: a commit is on disk before it is acknowledged (no acknowledged audit event is lost).
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = FULL')
  database.pragma('busy_timeout = 5000')
  database.pragma('foreign_keys = ON')
  if (walAutocheckpointPages !== undefined) database.pragma(`wal_autocheckpoint = ${Math.trunc(walAutocheckpointPages)}`)
  return database
}
