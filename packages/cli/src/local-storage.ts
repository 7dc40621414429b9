/** Opens the configured storage directly, without a server: for offline audit verification and migrations. */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { WritError } from '@writ/sdk'
import type { Storage, StorageRecord } from '@writ/server'

export interface LocalStorageOptions {
  env: Readonly<Record<string, string | undefined>>
  /** Explicit --data-dir; WRIT_DATA_DIR and the configuration file are read as the server reads them. */
  dataDir?: string
  configFile?: string
  /** The database must already exist (verification); migrations may create it. */
  mustExist: boolean
}

export interface LocalStorage {
  storage: Storage
  /** Where the data is, for messages; never the PostgreSQL URL, which may hold a password. */
  description: string
}

export async function openLocalStorage(options: LocalStorageOptions): Promise<LocalStorage> {
  // Loaded on demand: the storage drivers are not needed by the client commands.
  const server = await import('@writ/server')
  const file = options.configFile ?? (options.env.WRIT_CONFIG || undefined)
  const config = server.loadConfig({
    ...(file === undefined ? {} : { file }),
    env: { ...options.env },
    flags: options.dataDir === undefined ? {} : { dataDir: options.dataDir },
  })
  // The server records its storage in the data directory (storage.json), so a PostgreSQL deployment is found without
  // stating its URL again; storage named here (configuration file, WRIT_STORAGE__* environment) comes first.
  const recorded = server.readStorageRecord(config.dataDir)
  if (config.storage.driver === 'postgres' || recorded?.driver === 'postgres') {
    return openPostgres(server, config.storage.url, recorded, join(config.dataDir, server.STORAGE_FILE))
  }
  const sqlitePath = config.storage.sqlitePath ?? recorded?.sqlite_path ?? join(config.dataDir, 'writ.db')
  if (options.mustExist && sqlitePath !== ':memory:' && !existsSync(sqlitePath)) {
    throw new WritError('STORAGE_UNAVAILABLE', `no database at \`${sqlitePath}\`; is the data directory right (--data-dir)?`)
  }
  const storage = await server.openStorage({ driver: 'sqlite', sqlitePath, migrate: false })
  return { storage, description: sqlitePath }
}

async function openPostgres(
  server: typeof import('@writ/server'), configuredUrl: string | undefined, recorded: StorageRecord | undefined, recordFile: string,
): Promise<LocalStorage> {
  const url = configuredUrl ?? recorded?.url
  try {
    const storage = await server.openStorage({ driver: 'postgres', url, poolSize: 2, migrate: false })
    return { storage, description: server.redactPostgresUrl(url as string) }
  } catch (error) {
    // storage.json never holds the password; say exactly where this command takes it from.
    const refused = error instanceof WritError && error.reasons.some((r) => r === 'authentication_failed' || r === 'password_missing')
    if (configuredUrl === undefined && recorded?.url_had_password && refused) {
      throw new WritError('STORAGE_UNAVAILABLE',
        `the database recorded in \`${recordFile}\` (\`${server.redactPostgresUrl(url as string)}\`) needs its password, which is never recorded: `
        + 'set WRIT_STORAGE__URL to the full URL, or pass --config <file> with a configuration that sets storage.url', { reasons: error.reasons, cause: error })
    }
    throw error
  }
}
