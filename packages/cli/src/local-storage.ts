/** Opens the configured storage directly, without a server: for offline audit verification and migrations. */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { WritError } from '@writ/sdk'
import type { Storage } from '@writ/server'

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
  if (config.storage.driver === 'postgres') {
    const storage = await server.openStorage({ driver: 'postgres', url: config.storage.url, poolSize: 2, migrate: false })
    return { storage, description: 'postgres' }
  }
  const sqlitePath = config.storage.sqlitePath ?? join(config.dataDir, 'writ.db')
  if (options.mustExist && sqlitePath !== ':memory:' && !existsSync(sqlitePath)) {
    throw new WritError('STORAGE_UNAVAILABLE', `no database at \`${sqlitePath}\`; is the data directory right (--data-dir)?`)
  }
  const storage = await server.openStorage({ driver: 'sqlite', sqlitePath, migrate: false })
  return { storage, description: sqlitePath }
}
