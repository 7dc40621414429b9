/**
 * Test support for the real-sshd tests: Debian's /usr/sbin/sshd started on a free port (or inside a network namespace)
 * with the configuration an enrolled host gets (TrustedUserCAKeys, AuthorizedPrincipalsCommand `/bin/echo %u@<host>`,
 * RevokedKeys, HostCertificate), throwaway unix users, and the ssh client run with explicit identities only.
 *
 * The configuration lives in a fresh mkdtemp directory (root-owned, 0700: we run as root); `StrictModes no` because
 * the test users have no home directory of their own, and no authorized_keys file is read at all (`AuthorizedKeysFile
 * none`): a certificate from Writ's CA is the only way in.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

export interface Sshd {
  port: number
  address: string
  krlPath: string
  /** Replaces the KRL the way a host installs it: write then rename (a missing KRL makes sshd refuse every key). */
  installKrl(bytes: Buffer): void
  stop(): Promise<void>
  log(): string
}

export interface SshdOptions {
  dir: string
  hostName: string
  hostKeyFile: string
  hostCertificate: string
  userCa: string
  krl: Buffer
  address?: string
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string
  port?: number
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

export async function startSshd(options: SshdOptions): Promise<Sshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const address = options.address ?? '127.0.0.1'
  const port = options.port ?? await freePort()
  const dir = join(options.dir, `sshd-${options.hostName}-${randomBytes(3).toString('hex')}`)
  mkdirSync(dir, { mode: 0o700 })
  const krlPath = join(dir, 'revoked.krl')
  writeFileSync(krlPath, options.krl)
  writeFileSync(join(dir, 'user_ca.pub'), `${options.userCa}\n`)
  writeFileSync(`${options.hostKeyFile}-cert.pub`, `${options.hostCertificate}\n`)
  const config = join(dir, 'sshd_config')
  writeFileSync(config, [
    `Port ${port}`, `ListenAddress ${address}`, `HostKey ${options.hostKeyFile}`, `HostCertificate ${options.hostKeyFile}-cert.pub`,
    'PidFile none', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes',
    'AuthorizedKeysFile none', `TrustedUserCAKeys ${join(dir, 'user_ca.pub')}`,
    // What enrollment writes (engineer C): a certificate names `<user>@<host>`, so it opens this host only.
    `AuthorizedPrincipalsCommand /bin/echo %u@${options.hostName}`, 'AuthorizedPrincipalsCommandUser nobody',
    `RevokedKeys ${krlPath}`, 'StrictModes no', 'LogLevel VERBOSE', 'MaxStartups 100', 'PerSourcePenalties no',
    '',
  ].filter((line) => !line.startsWith('PerSourcePenalties') || sshdVersionAtLeast(9, 8)).join('\n'))
  const command = options.netns ? ['ip', 'netns', 'exec', options.netns, '/usr/sbin/sshd'] : ['/usr/sbin/sshd']
  const child: ChildProcess = spawn(command[0] as string, [...command.slice(1), '-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr?.on('data', (chunk: Buffer) => { log += chunk.toString() })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start: ${log}`)), 10_000)
    const check = () => {
      if (log.includes('Server listening on')) { clearTimeout(timer); resolve() } else if (child.exitCode !== null) { clearTimeout(timer); reject(new Error(`sshd exited: ${log}`)) } else setTimeout(check, 20)
    }
    check()
  })
  return {
    port, address, krlPath,
    installKrl(bytes) {
      const temporary = `${krlPath}.${process.pid}.tmp`
      writeFileSync(temporary, bytes)
      renameSync(temporary, krlPath)
    },
    log: () => log,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    }),
  }
}

function sshdVersionAtLeast(major: number, minor: number): boolean {
  const text = spawnSync('ssh', ['-V']).stderr.toString()
  const m = /OpenSSH_(\d+)\.(\d+)/.exec(text)
  return m !== null && (Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor))
}

/** A throwaway unix user, unlocked for public-key logins (`useradd` leaves it locked: `!` in /etc/shadow). */
export function addUser(name: string): void {
  execFileSync('useradd', ['-M', '-d', '/', '-s', '/bin/sh', name])
  execFileSync('usermod', ['-p', '*', name])
}

export function removeUser(name: string): void {
  spawnSync('userdel', [name])
}

export interface SshResult {
  status: number | null
  stdout: string
  stderr: string
}

export interface SshLogin {
  user: string
  sshd: Pick<Sshd, 'port' | 'address'>
  keyFile: string
  certificateFile?: string
  knownHosts: string
  hostKeyAlias: string
  command?: string
}

/** ssh with nothing implicit: no config file, no agent, only the given key and certificate, strict host checking. */
export function ssh(login: SshLogin): SshResult {
  const args = [
    '-F', '/dev/null', '-p', String(login.sshd.port), '-i', login.keyFile,
    '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'IdentityAgent=none', '-o', 'ConnectTimeout=5',
    '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${login.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', `HostKeyAlias=${login.hostKeyAlias}`, '-o', 'PreferredAuthentications=publickey',
    ...(login.certificateFile ? ['-o', `CertificateFile=${login.certificateFile}`] : []),
    `${login.user}@${login.sshd.address}`, login.command ?? 'id -un',
  ]
  const result = spawnSync('ssh', args, { timeout: 15_000 })
  return { status: result.status, stdout: result.stdout?.toString() ?? '', stderr: result.stderr?.toString() ?? '' }
}
