/** `<dataDir>/storage.json`: which storage the server of this data directory uses, so offline tools find it; never a password. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { postgresUrlParts, postgresUrlWithoutPassword } from './postgres-url.js'
import type { Driver } from './storage.js'

export const STORAGE_FILE = 'storage.json'

export interface StorageRecord {
  driver: Driver
  /** SQLite: the absolute path of the file. */
  sqlite_path?: string
  /** PostgreSQL: the connection URL with its password removed. */
  url?: string
  /** PostgreSQL: the configured URL carried a password, so whoever connects with `url` must supply one. */
  url_had_password?: boolean
}

export function writeStorageRecord(dataDir: string, storage: { driver: Driver; sqlitePath: string; url?: string | undefined }): void {
  const url = postgresUrlWithoutPassword(storage.url ?? '')
  const record: StorageRecord = storage.driver === 'sqlite'
    ? { driver: 'sqlite', sqlite_path: resolve(storage.sqlitePath) }
    : { driver: 'postgres', ...(url === undefined ? {} : { url }), url_had_password: postgresUrlParts(storage.url ?? '')?.hasPassword ?? false }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // Written whole and renamed, so a reader never sees half a file; 0600 although it holds no secret: it names the database.
  const file = join(dataDir, STORAGE_FILE)
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 })
  renameSync(`${file}.tmp`, file)
}

/** The record, or undefined when the file is missing or is not one (written by an older version, or edited). */
export function readStorageRecord(dataDir: string): StorageRecord | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(join(dataDir, STORAGE_FILE), 'utf8'))
  } catch {
    return undefined
  }
  const record = parsed as Partial<StorageRecord> | null
  if (record?.driver === 'sqlite' && typeof record.sqlite_path === 'string') return { driver: 'sqlite', sqlite_path: record.sqlite_path }
  if (record?.driver === 'postgres' && typeof record.url === 'string') {
    return { driver: 'postgres', url: record.url, url_had_password: record.url_had_password === true }
  }
  return undefined
}

