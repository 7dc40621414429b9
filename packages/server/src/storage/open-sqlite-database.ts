/**
 * openSqliteDatabase(): a connection to the SQLite file with Writ's durable settings. Every connection to the file is
 * opened here: the storage's (through Kysely), the commit thread's and the maintenance thread's. It imports nothing
 * else, so the threads load no more than they use (each module a worker loads costs its isolate memory).
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'

export function openSqliteDatabase(path: string, walAutocheckpointPages?: number): BetterSqlite3.Database {
  if (path !== ':memory:') createPrivately(path)
  const database = new BetterSqlite3(path)
  // WAL + synchronous=FULL: a commit is on disk before it is acknowledged (no acknowledged audit event is lost).
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = FULL')
  database.pragma('busy_timeout = 5000')
  database.pragma('foreign_keys = ON')
  if (walAutocheckpointPages !== undefined) database.pragma(`wal_autocheckpoint = ${Math.trunc(walAutocheckpointPages)}`)
  if (path !== ':memory:') for (const suffix of ['-wal', '-shm']) chmodIfExists(`${path}${suffix}`)
  return database
}

/**
 * The file holds the agent registry and the audit log: 0600, in a directory created 0700. SQLite creates its -wal and
 * -shm files with the main file's mode, so a main file created 0600 here keeps them private too; files left 0644 by
 * an earlier version are tightened (they are ours, unlike the directory, which may be the operator's).
 */
function createPrivately(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  // An empty file is a valid new database; 'a' creates it 0600 without truncating an existing one.
  closeSync(openSync(path, 'a', 0o600))
  chmodSync(path, 0o600)
}

function chmodIfExists(file: string): void {
  if (existsSync(file)) chmodSync(file, 0o600)
}
