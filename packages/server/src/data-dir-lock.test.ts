import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { systemClock } from './clock.js'
import { LOCK_FILE, lockDataDir } from './data-dir-lock.js'
import { createLogger } from './logger.js'

const quiet = createLogger('silent', systemClock)
const freshDir = () => mkdtempSync(join(tmpdir(), 'writ-lock-'))
const writeLock = (dir: string, owner: unknown) => writeFileSync(join(dir, LOCK_FILE), JSON.stringify(owner))
/** The pid of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid as number

describe('lockDataDir', () => {
  it('creates a 0600 lock file naming this process, and removes it on release', () => {
    const dir = freshDir()
    const lock = lockDataDir(dir, quiet)
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toEqual({ pid: process.pid, host: hostname() })
    expect(statSync(lock.file).mode & 0o777).toBe(0o600)
    lock.release()
    expect(existsSync(lock.file)).toBe(false)
  })

  it('refuses a directory locked by a live process and names its pid', () => {
    const dir = freshDir()
    writeLock(dir, { pid: process.ppid, host: hostname() })
    expect(() => lockDataDir(dir, quiet)).toThrow(expect.objectContaining({ code: 'DATA_DIR_LOCKED', detail: expect.stringContaining(`pid ${process.ppid}`) }))
  })

  it('refuses a second lock by the same process while the first is held', () => {
    const dir = freshDir()
    const lock = lockDataDir(dir, quiet)
    expect(() => lockDataDir(dir, quiet)).toThrow(`pid ${process.pid}`)
    lock.release()
    lockDataDir(dir, quiet).release()
  })

  it('takes over a lock left by a process that no longer exists, and says so in the log', () => {
    const dir = freshDir()
    const stale = deadPid()
    writeLock(dir, { pid: stale, host: hostname() })
    const lines: string[] = []
    const lock = lockDataDir(dir, createLogger('info', systemClock, (line) => lines.push(line)))
    expect(JSON.parse(readFileSync(lock.file, 'utf8')).pid).toBe(process.pid)
    expect(lines.join('')).toContain(`"stale_pid":${stale}`)
    lock.release()
  })

  it('takes over a lock naming this pid that this process does not hold (a container restarted as pid 1)', () => {
    const dir = freshDir()
    writeLock(dir, { pid: process.pid, host: hostname() })
    lockDataDir(dir, quiet).release()
  })

  it('never takes over a lock from another host or one it cannot read, and says how to clear it', () => {
    const dir = freshDir()
    writeLock(dir, { pid: deadPid(), host: 'elsewhere' })
    expect(() => lockDataDir(dir, quiet)).toThrow(/on host `elsewhere`/)
    writeFileSync(join(dir, LOCK_FILE), '')
    expect(() => lockDataDir(dir, quiet)).toThrow(/an unknown process.*remove `/)
  })

  it('release leaves a lock that another process holds', () => {
    const dir = freshDir()
    const lock = lockDataDir(dir, quiet)
    writeLock(dir, { pid: process.ppid, host: hostname() })
    lock.release()
    expect(existsSync(lock.file)).toBe(true)
  })
})
