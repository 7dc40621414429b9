/** First start: creates the bootstrap admin, shows its credential once and leaves it in the data directory (0600). */
import { writeFileSync, chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'
import { createAdmin } from './admin-credentials.js'

export const ADMIN_TOKEN_FILE = 'admin-token'

/** Returns the new credential when one was created, so the caller can show it once; undefined when admins exist. */
export async function bootstrapAdmin(storage: Storage, clock: Clock, dataDir: string | undefined): Promise<string | undefined> {
  if ((await storage.admins.count()) > 0) return undefined
  let credential: string
  try {
    ({ credential } = await createAdmin('bootstrap', ['admin'], 'system', storage, clock))
  } catch (error) {
    // Another replica bootstrapped the same empty database first (unique admin name); that one holds the credential.
    if ((await storage.admins.count()) > 0) return undefined
    throw error
  }
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    const file = join(dataDir, ADMIN_TOKEN_FILE)
    writeFileSync(file, `${credential}\n`, { mode: 0o600 })
    chmodSync(file, 0o600)
  }
  return credential
}
