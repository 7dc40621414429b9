/** lockDataDir(): one running server per data directory, held by a lock file that names the holder's pid. */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { WritError } from '@writ/sdk'
import type { Logger } from './logger.js'

export const LOCK_FILE = 'server.lock'

export interface DataDirLock {
  file: string
  /** Removes the lock file if it still names this process (it never deletes another instance's lock). */
  release(): void
}

interface LockOwner { pid: number; host: string }

// Locks this process holds, so that a pid in a lock file equal to ours (a container restarted as pid 1) is known
// to be stale rather than ours.
const held = new Set<string>()

/**
 * Creates `<dataDir>/server.lock` with O_EXCL, holding `{ pid, host }`. Two servers on one directory would share the
 * signing keys, the admin credential and server.json, and the second would overwrite the first's addresses. A lock
 * left by a process that no longer exists on this host is taken over, and the log says so.
 */
export function lockDataDir(dataDir: string, logger: Logger): DataDirLock {
  const file = join(dataDir, LOCK_FILE)
  const me: LockOwner = { pid: process.pid, host: hostname() }
  let tookOver = false
  for (let attempt = 0; ; attempt++) {
    if (tryCreate(file, me)) break
    const text = readLock(file)
    if (text === undefined && attempt < 3) continue // removed between our create and our read: try again
    const owner = parseOwner(text ?? '')
    if (!tookOver && owner !== undefined && isStale(owner, file)) {
      tookOver = true
      // Remove only the lock we judged stale: a starting server may have replaced it meanwhile.
      if (readLock(file) === text) unlinkSync(file)
      logger.warn('took over a stale data directory lock', { lock: file, stale_pid: owner.pid })
      continue
    }
    const holder = owner === undefined ? 'an unknown process' : owner.host === me.host ? `pid ${owner.pid}` : `pid ${owner.pid} on host \`${owner.host}\``
    throw new WritError('DATA_DIR_LOCKED',
      `data directory \`${dataDir}\` is in use by another writ server (${holder}); stop it, or use another --data-dir. If no server runs, remove \`${file}\``)
  }
  held.add(file)
  return {
    file,
    release() {
      held.delete(file)
      const owner = parseOwner(readLock(file) ?? '')
      if (owner?.pid === me.pid && owner.host === me.host) unlinkSync(file)
    },
  }
}

function tryCreate(file: string, owner: LockOwner): boolean {
  let fd: number
  try {
    fd = openSync(file, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  try {
    writeSync(fd, `${JSON.stringify(owner)}\n`)
  } finally {
    closeSync(fd)
  }
  return true
}

function readLock(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>
    return Number.isSafeInteger(value.pid) && typeof value.host === 'string' ? { pid: value.pid as number, host: value.host } : undefined
  } catch {
    return undefined
  }
}

/** Only a lock from this host can be judged: another host's pid means nothing here (a shared volume). */
function isStale(owner: LockOwner, file: string): boolean {
  if (owner.host !== hostname()) return false
  if (owner.pid === process.pid) return !held.has(file)
  try {
    process.kill(owner.pid, 0)
    return false
  } catch (error) {
    // EPERM: the process exists but belongs to another user, so it is alive.
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
