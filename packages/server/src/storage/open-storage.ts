/** Opens the SQL storage on SQLite (embedded default) or PostgreSQL, with migrations and durable settings. */
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationProvider } from 'kysely'
import { WritError } from '@writ/sdk'
import { MIGRATIONS } from './migrations/index.js'
import { cachingDatabase } from './statement-cache.js'
import { openSqliteDatabase } from './open-sqlite-database.js'
import { describePostgresFailure } from './postgres-failure.js'
import { repositories, type Driver, type Repositories, type Storage } from './storage.js'
import type { Database } from './tables.js'

export interface StorageOptions {
  driver: Driver
  /** SQLite file path or `:memory:`. */
  sqlitePath?: string
  /** PostgreSQL connection URL. */
  url?: string
  poolSize?: number
  /** Run migrations on open (the server does; `writ audit verify` offline does too, read-only work after). */
  migrate?: boolean
  /** SQLite: WAL pages after which a commit checkpoints by itself (default 1000); raised where another thread checkpoints. */
  walAutocheckpointPages?: number
  /** PostgreSQL: how long a new connection may take (default 5 s). */
  connectTimeoutMs?: number
}

// Expired replay rows deleted per statement by prune().
const PRUNE_CHUNK = 1_000

export async function openStorage(options: StorageOptions): Promise<Storage> {
  const db = options.driver === 'postgres' ? await openPostgres(options) : openSqlite(options)
  try {
    if (options.driver === 'postgres') await sql`select 1`.execute(db)
    if (options.migrate ?? true) await migrate(db)
  } catch (cause) {
    await db.destroy().catch(() => undefined)
    if (options.driver === 'postgres') {
      const { detail, reason } = describePostgresFailure(cause, options.url as string)
      throw new WritError('STORAGE_UNAVAILABLE', detail, { reasons: [reason], cause })
    }
    throw new WritError('STORAGE_UNAVAILABLE', `cannot open ${options.driver} storage`, { cause })
  }
  return buildStorage(db, options.driver)
}

function openSqlite(options: StorageOptions): Kysely<Database> {
  const database = openSqliteDatabase(options.sqlitePath ?? ':memory:', options.walAutocheckpointPages)
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingDatabase(database) }) })
}

async function openPostgres(options: StorageOptions): Promise<Kysely<Database>> {
  if (!options.url) throw new WritError('CONFIG_INVALID', 'storage.url is required when storage.driver is postgres')
  // Loaded only when configured: on the embedded default the driver's modules would cost resident memory for nothing.
  const { default: pg } = await import('pg')
  // pg returns int8 and count(*) as strings by default; every bigint here is an epoch-ms time or a seq that fits.
  pg.types.setTypeParser(20, Number)
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000 })
  // An idle client's error (server restart) must not crash the process; the next query reports it.
  pool.on('error', () => undefined)
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}

export async function migrate(db: Kysely<Database>): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS }
  const migrator = new Migrator({ db, provider, migrationTableName: 'writ_migrations', migrationLockTableName: 'writ_migrations_lock' })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

function buildStorage(db: Kysely<Database>, driver: Driver): Storage {
  const base = repositories(db, driver)
  return {
    ...base,
    driver,
    db,
    transaction: <T>(work: (tx: Repositories) => Promise<T>) =>
      driver === 'sqlite' ? sqliteTransaction(db, work) : db.transaction().execute((trx) => work(repositories(trx, driver))),
    async prune(nowMs: number) {
      while ((await base.tokens.pruneAssertions(nowMs, PRUNE_CHUNK)) === PRUNE_CHUNK);
      while ((await base.revocations.pruneEvents(nowMs, PRUNE_CHUNK)) === PRUNE_CHUNK);
      while ((await base.sshCertificates.pruneExpired(nowMs, PRUNE_CHUNK)) === PRUNE_CHUNK);
    },
    close: () => db.destroy(),
  }
}

/** BEGIN IMMEDIATE takes the write lock at the start, so a read-then-append can never be upgraded into SQLITE_BUSY. */
async function sqliteTransaction<T>(db: Kysely<Database>, work: (tx: Repositories) => Promise<T>): Promise<T> {
  return db.connection().execute(async (connection) => {
    await sql`begin immediate`.execute(connection)
    try {
      const result = await work(repositories(connection, 'sqlite'))
      await sql`commit`.execute(connection)
      return result
    } catch (error) {
      await sql`rollback`.execute(connection).catch(() => undefined)
      throw error
    }
  })
}
