/** prepareDataDir(): creates the data directory private to its user (0700) and checks one that already exists. */
import { chmodSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { WritError } from '@writ/sdk'
import type { Logger } from './logger.js'

/**
 * The directory holds the registry and audit log (SQLite), the signing keys and the bootstrap admin credential, so a
 * new one is created 0700. An existing one is the operator's: it is not changed. Group or world access is logged as a
 * warning (the files in it are 0600 anyway); group or world *write* access refuses the start, since another local
 * user could then replace the keys or the database.
 */
export function prepareDataDir(dataDir: string, logger: Logger): void {
  const created = mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  if (created !== undefined) return
  const stat = statSync(dataDir)
  if (!stat.isDirectory()) throw new WritError('CONFIG_INVALID', `dataDir: \`${dataDir}\` is not a directory`)
  const mode = stat.mode & 0o777
  if ((mode & 0o022) !== 0) {
    throw new WritError('CONFIG_INVALID',
      `dataDir: \`${dataDir}\` is writable by other users (mode ${octal(mode)}); run \`chmod 700 ${dataDir}\``)
  }
  if ((mode & 0o077) !== 0) {
    logger.warn('the data directory is readable by other users; its files are 0600, but run chmod 700 on it', { data_dir: dataDir, mode: octal(mode) })
  }
}

/** Writes a file of the data directory, 0600, whole or not at all (readers such as the CLI never see half of it). */
export function writePrivateFile(file: string, content: string): void {
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, content, { mode: 0o600 })
  // The mode given to writeFileSync only applies to a new file; a temporary left by a crash keeps its own.
  chmodSync(temporary, 0o600)
  renameSync(temporary, file)
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`
}
