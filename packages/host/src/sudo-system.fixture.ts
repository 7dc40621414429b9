/**
 * Real sudo for tests: an exclusive lock around everything that touches /etc/sudo.conf and /etc/sudoers.d (test files
 * run in parallel), unique users and group per run, a NOPASSWD sudoers rule, the plugin built into a temp dir and
 * named in /etc/sudo.conf, and the original sudo.conf restored byte for byte at the end, even after a failure (and,
 * after a run killed outright, by the next run, from the backup it left beside the lock).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { buildSudoPlugin } from './build-plugin.js'
import { installAtomically } from './krl-installer.js'
import { withWritPlugins } from './sudo-conf.js'

export const SUDO_TEST_LOCK = '/run/lock/writ-sudo-test.lock'
/** The original sudo.conf while a holder of the lock has changed it; a holder that died leaves it for the next one. */
export const SUDO_CONF_BACKUP = '/run/lock/writ-sudo-test.sudo.conf'
const SUDO_CONF = '/etc/sudo.conf'

/**
 * Under the lock: a backup left by a run that was killed before its teardown is the true original, so it is put back
 * first; then the original is saved, so a crash from here on is repaired by the next run. Returns the original.
 */
export function saveSudoConf(): Buffer {
  if (existsSync(SUDO_CONF_BACKUP)) installAtomically(SUDO_CONF, readFileSync(SUDO_CONF_BACKUP))
  const original = readFileSync(SUDO_CONF)
  installAtomically(SUDO_CONF_BACKUP, original, 0o600)
  return original
}

export function restoreSudoConf(original: Buffer): void {
  installAtomically(SUDO_CONF, original)
  rmSync(SUDO_CONF_BACKUP, { force: true })
}

/** Holds `flock` on the lock file in a child process until released (or until this process dies). */
export async function acquireSudoLock(): Promise<() => Promise<void>> {
  mkdirSync(dirname(SUDO_TEST_LOCK), { recursive: true })
  const child: ChildProcess = spawn('flock', ['-x', SUDO_TEST_LOCK, '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`flock exited ${code}`)))
    child.stdout!.once('data', () => resolve())
  })
  child.removeAllListeners('exit')
  return () => new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.stdin!.end()
  })
}

export interface SudoSystem {
  /** A per-run directory readable by every user (scripts the commands run live here). */
  dir: string
  pluginPath: string
  group: string
  agent: string
  /** A second agent user (same group). */
  otherUser: string
  runas: string
  socketPath: string
  /** Runs sudo as `user` with `env` added; never throws on a non-zero exit. */
  sudo(user: string, argv: readonly string[], env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>
  teardown(): Promise<void>
}

export async function setUpSudoSystem(socketPath: string): Promise<SudoSystem> {
  const id = randomBytes(3).toString('hex')
  const group = `wtg${id}`
  const agent = `wta${id}`
  const otherUser = `wtn${id}`
  const runas = `wtr${id}`
  const dir = mkdtempSync(join(tmpdir(), 'writ-sudo-'))
  chmodSync(dir, 0o755)
  const sudoersFile = `/etc/sudoers.d/writ-test-${id}`
  const release = await acquireSudoLock()
  let original: Buffer
  try {
    original = saveSudoConf()
  } catch (error) {
    await release()
    throw error
  }
  const undo: Array<() => void> = []
  const teardown = async (): Promise<void> => {
    // Restore sudo.conf first: whatever else fails, the machine's sudo works as before.
    try {
      restoreSudoConf(original)
    } finally {
      for (const step of undo.reverse()) {
        try { step() } catch { /* best effort; the rest still runs */ }
      }
      rmSync(dir, { recursive: true, force: true })
      await release()
    }
  }
  try {
    execFileSync('groupadd', [group])
    undo.push(() => execFileSync('groupdel', [group]))
    for (const [user, groups] of [[agent, group], [otherUser, ''], [runas, '']] as const) {
      execFileSync('useradd', ['-M', '-s', '/bin/sh', ...(groups ? ['-G', groups] : []), user])
      undo.push(() => {
        // userdel refuses a user that still owns a process (a command a test left running, a sudo it killed).
        try { execFileSync('pkill', ['-KILL', '-u', user]) } catch { /* none left: pkill exits 1 */ }
        execFileSync('userdel', ['-f', user])
      })
    }
    const rule = `${agent},${otherUser} ALL=(ALL:ALL) NOPASSWD: ALL\nDefaults:${agent},${otherUser} !lecture, !mail_badpass\n`
    writeFileSync(join(dir, 'sudoers'), rule, { mode: 0o440 })
    execFileSync('visudo', ['-cqf', join(dir, 'sudoers')])
    writeFileSync(sudoersFile, rule, { mode: 0o440 })
    undo.push(() => rmSync(sudoersFile, { force: true }))
    const pluginPath = buildSudoPlugin(join(dir, 'writ_sudo.so'))
    installAtomically(SUDO_CONF, Buffer.from(withWritPlugins(original.toString(), { pluginPath, group, socketPath })))
    return {
      dir, pluginPath, group, agent, otherUser, runas, socketPath, teardown,
      sudo: (user, argv, env = {}) => runAs(user, ['sudo', '-n', ...argv], env),
    }
  } catch (error) {
    await teardown()
    throw error
  }
}

function runAs(user: string, argv: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const command = user === 'root' ? argv : ['runuser', '-u', user, '--', ...argv]
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), {
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', ...env },
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}
