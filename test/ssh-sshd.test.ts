/**
 * Writ's SSH certificates against the real Debian sshd and ssh client (docs/threats.md SSH-01..12): what logs in,
 * everything that must not, the KRL reaching sshd after a revocation (timed, printed, not asserted), and a second host
 * in its own network namespace.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto'
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeOpenSshPrivateKey } from '../packages/server/src/ssh/openssh-private-key.js'
import { ed25519PublicKey } from '../packages/server/src/ssh/ssh-public-key.js'
import { createSshTestApp, type SshTestApp, type TestHost } from '../packages/server/src/ssh/ssh-test.fixture.js'
import { addUser, removeUser, ssh, startSshd, type Sshd, type SshLogin } from './sshd.fixture.js'

const suffix = randomBytes(3).toString('hex')
const DEPLOY = `wd${suffix}`
const OTHER = `wo${suffix}`
const NETNS = `writ-ssh-${suffix}`
const VETH = `wv${suffix}`
const SUBNET = `10.${randomInt(100, 250)}.${randomInt(0, 250)}`

let s: SshTestApp
let web: TestHost
let db: TestHost
let sshdWeb: Sshd
let sshdDb: Sshd | undefined
let knownHosts: string
let hostCa: string
const cleanups: Array<() => unknown> = []

interface Issued { keyFile: string; certificateFile: string; serial: string; jti: string; status: number }

/** A fresh key pair made with node:crypto, exchanged for a certificate with a token as the mint writes it. */
async function issue(o: Parameters<SshTestApp['capability']>[0] = {}, at = Date.now()): Promise<Issued> {
  s.t.clock.set(at)
  const { privateKey } = generateKeyPairSync('ed25519')
  const keyFile = join(s.dir, `agent-${randomBytes(4).toString('hex')}`)
  writeFileSync(keyFile, encodeOpenSshPrivateKey(privateKey), { mode: 0o600 })
  const { token, claims } = await s.capability({ parameters: { principals: [DEPLOY] }, ...o })
  const response = await s.exchange(token, ed25519PublicKey(privateKey).line)
  const body = await response.json() as { certificate: string; serial: string }
  // Deliberately not beside the key as `<key>-cert.pub`: ssh would pick that up by itself.
  const certificateFile = `${keyFile}.certificate`
  if (response.status === 201) writeFileSync(certificateFile, `${body.certificate}\n`)
  s.t.clock.set(Date.now())
  return { keyFile, certificateFile, serial: body.serial, jti: claims.jti, status: response.status }
}

function login(issued: Pick<Issued, 'keyFile'> & { certificateFile?: string }, o: Partial<SshLogin> = {}) {
  return ssh({ user: DEPLOY, sshd: sshdWeb, keyFile: issued.keyFile, knownHosts, hostKeyAlias: 'web-1', ...(issued.certificateFile ? { certificateFile: issued.certificateFile } : {}), ...o })
}

async function hostCertificate(host: TestHost): Promise<{ certificate: string; serial: string }> {
  const response = await s.t.app.publicApp.request('/ssh/host-certificate', {
    method: 'POST', headers: { authorization: `Bearer ${await host.apiToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ public_key: host.hostKey.publicLine }),
  })
  return (await response.json()) as { certificate: string; serial: string }
}

async function fetchKrl(host: TestHost): Promise<Buffer> {
  const response = await s.t.app.publicApp.request('/ssh/krl', { headers: { authorization: `Bearer ${await host.apiToken()}` } })
  if (response.status !== 200) throw new Error(`krl: ${response.status}`)
  return Buffer.from(await response.arrayBuffer())
}

function refused(result: ReturnType<typeof ssh>): void {
  expect(result.status, result.stdout).toBe(255)
  expect(result.stdout).toBe('')
}

beforeAll(async () => {
  // The fake clock jumps 20 minutes back and forth (expired and not-yet-valid certificates): rate limiting, which reads
  // that as time running backwards, is off here (it is tested elsewhere); everything else is the default.
  s = await createSshTestApp({ startMs: Date.now(), config: { rateLimits: { perAddress: { enabled: false }, perAgent: { enabled: false } } } })
  cleanups.push(() => s.close())
  web = await s.addHost('web-1')
  db = await s.addHost('db-1')
  for (const user of [DEPLOY, OTHER]) {
    addUser(user)
    cleanups.push(() => removeUser(user))
  }
  const ca = await (await s.t.app.publicApp.request('/ssh/ca')).json() as { user_ca: string; host_ca: string }
  hostCa = ca.host_ca
  knownHosts = join(s.dir, 'known_hosts')
  writeFileSync(knownHosts, `@cert-authority * ${ca.host_ca}\n`)
  sshdWeb = await startSshd({ dir: s.dir, hostName: 'web-1', hostKeyFile: web.hostKey.privateKeyFile, hostCertificate: (await hostCertificate(web)).certificate, userCa: ca.user_ca, krl: await fetchKrl(web) })
  cleanups.push(() => sshdWeb.stop())
  // The second host: its own network namespace, reached over a veth pair.
  execFileSync('ip', ['netns', 'add', NETNS])
  cleanups.push(() => spawnSync('ip', ['netns', 'del', NETNS]))
  execFileSync('ip', ['link', 'add', `${VETH}a`, 'type', 'veth', 'peer', 'name', `${VETH}b`])
  cleanups.push(() => spawnSync('ip', ['link', 'del', `${VETH}a`]))
  execFileSync('ip', ['link', 'set', `${VETH}b`, 'netns', NETNS])
  execFileSync('ip', ['addr', 'add', `${SUBNET}.1/30`, 'dev', `${VETH}a`])
  execFileSync('ip', ['link', 'set', `${VETH}a`, 'up'])
  execFileSync('ip', ['netns', 'exec', NETNS, 'ip', 'addr', 'add', `${SUBNET}.2/30`, 'dev', `${VETH}b`])
  execFileSync('ip', ['netns', 'exec', NETNS, 'ip', 'link', 'set', `${VETH}b`, 'up'])
  execFileSync('ip', ['netns', 'exec', NETNS, 'ip', 'link', 'set', 'lo', 'up'])
  sshdDb = await startSshd({
    dir: s.dir, hostName: 'db-1', hostKeyFile: db.hostKey.privateKeyFile, hostCertificate: (await hostCertificate(db)).certificate, userCa: ca.user_ca,
    krl: await fetchKrl(db), address: `${SUBNET}.2`, netns: NETNS, port: 2222,
  })
  cleanups.push(() => sshdDb?.stop())
}, 60_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) {
    try { await cleanup() } catch { /* best effort: the rest still runs */ }
  }
})

describe('sshd trusting Writ\'s user CA', () => {
  it('lets a valid certificate log in and run a command', async () => {
    const result = login(await issue())
    expect(result.stderr).not.toContain('Permission denied')
    expect(result.stdout.trim()).toBe(DEPLOY)
    expect(result.status).toBe(0)
  })

  it('refuses an expired certificate (SSH-02)', async () => {
    const expired = await issue({}, Date.now() - 20 * 60_000)
    expect(expired.status).toBe(201)
    refused(login(expired))
  })

  it('refuses a certificate that is not yet valid', async () => {
    const future = await issue({}, Date.now() + 20 * 60_000)
    expect(future.status).toBe(201)
    refused(login(future))
  })

  it('refuses a certificate for another unix user (wrong principal)', async () => {
    refused(login(await issue({ parameters: { principals: [OTHER] } })))
  })

  it('refuses a certificate whose principal names another host (SSH-05)', async () => {
    refused(login(await issue({ resource: 'host:db-1' })))
  })

  it('refuses a certificate signed by another CA', async () => {
    const foreign = join(s.dir, `foreign-ca-${suffix}`)
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', foreign])
    const keyFile = join(s.dir, `foreign-user-${suffix}`)
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile])
    execFileSync('ssh-keygen', ['-q', '-s', foreign, '-I', 'writ:agent=x:task=y:jti=z', '-n', `${DEPLOY}@web-1`, '-V', '-5m:+5m', `${keyFile}.pub`])
    refused(login({ keyFile, certificateFile: `${keyFile}-cert.pub` }))
  })

  it('refuses Writ\'s host certificate presented as a user certificate', async () => {
    refused(login({ keyFile: web.hostKey.privateKeyFile, certificateFile: `${web.hostKey.privateKeyFile}-cert.pub` }))
  })

  it('refuses a key without a certificate', async () => {
    const issued = await issue()
    refused(login({ keyFile: issued.keyFile }))
  })

  it('refuses the user CA key itself used as a user key', async () => {
    const keyFile = join(s.dir, `ca-as-user-${suffix}`)
    writeFileSync(keyFile, encodeOpenSshPrivateKey(s.t.app.sshCas.user.privateKey), { mode: 0o600 })
    refused(login({ keyFile }))
  })

  it('enforces force-command: the certificate runs its command, not the one asked for', async () => {
    const result = login(await issue({ parameters: { principals: [DEPLOY], force_command: '/bin/echo forced-by-writ' } }), { command: 'id -un' })
    expect(result.status).toBe(0)
    expect(result.stdout.trim()).toBe('forced-by-writ')
  })

  it('enforces source-address', async () => {
    refused(login(await issue({ parameters: { principals: [DEPLOY], source_address: '10.255.255.1/32' } })))
    expect(login(await issue({ parameters: { principals: [DEPLOY], source_address: '127.0.0.1/32' } })).status).toBe(0)
  })

  it('refuses a revoked certificate once the KRL is installed (SSH-03), timed from the revocation call', async () => {
    const issued = await issue({ task: `T-revoke-${suffix}` })
    expect(login(issued).status).toBe(0)
    const started = performance.now()
    const revoked = await s.t.admin('POST', '/v1/revocations', { kind: 'token', jti: issued.jti, reason: 'sshd test' })
    expect(revoked.status).toBeLessThan(300)
    sshdWeb.installKrl(await fetchKrl(web))
    const installed = performance.now()
    const result = login(issued)
    const refusedAt = performance.now()
    refused(result)
    // sshd's log arrives on its stderr pipe, read once the event loop turns (spawnSync held it).
    await expect.poll(() => sshdWeb.log(), { timeout: 5_000 }).toMatch(/revoked/i)
    // Measured, not asserted (docs/benchmarks.md): revoke call → KRL fetched and installed → sshd refuses.
    process.stdout.write(`${JSON.stringify({ measure: 'ssh_revocation_to_refusal', install_ms: Math.round(installed - started), refusal_ms: Math.round(refusedAt - started) })}\n`)
    expect(spawnSync('ssh-keygen', ['-Q', '-f', sshdWeb.krlPath, issued.certificateFile]).stdout.toString()).toContain('REVOKED')
  })
})

describe('the host certificate', () => {
  /** The serial of the host certificate sshd presents to a new connection (ssh-keyscan -c prints certificates). */
  function presentedSerial(): string {
    const scanned = execFileSync('ssh-keyscan', ['-c', '-t', 'ed25519', '-p', String(sshdWeb.port), sshdWeb.address], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()
    const line = scanned.split('\n').find((l) => l.includes('-cert-v01@openssh.com'))
    if (line === undefined) throw new Error('sshd presented no certificate')
    const file = join(s.dir, `presented-${randomBytes(4).toString('hex')}.pub`)
    writeFileSync(file, `${line.split(' ').slice(-2).join(' ')}\n`)
    return /Serial: (\d+)/.exec(execFileSync('ssh-keygen', ['-L', '-f', file]).toString())![1]!
  }

  it('is presented renewed from the next connection on, without reloading sshd (its re-exec\'d child reads it)', async () => {
    const before = presentedSerial()
    const renewed = await hostCertificate(web)
    expect(renewed.serial).not.toBe(before)
    const path = `${web.hostKey.privateKeyFile}-cert.pub`
    writeFileSync(`${path}.tmp`, `${renewed.certificate}\n`)
    renameSync(`${path}.tmp`, path)
    expect(presentedSerial()).toBe(renewed.serial)
    expect(login(await issue()).status).toBe(0)
  })
})

describe('a second host in its own network namespace', () => {
  it('lets a certificate for db-1 in there, and refuses one for web-1', async () => {
    const forDb = await issue({ resource: 'host:db-1' })
    const ok = ssh({ user: DEPLOY, sshd: sshdDb as Sshd, keyFile: forDb.keyFile, certificateFile: forDb.certificateFile, knownHosts, hostKeyAlias: 'db-1' })
    expect(ok.stdout.trim(), ok.stderr).toBe(DEPLOY)
    refused(ssh({ user: DEPLOY, sshd: sshdDb as Sshd, ...await issue(), knownHosts, hostKeyAlias: 'db-1' }))
  })

  it('has the client check the host certificate: another host\'s name is refused', async () => {
    const forDb = await issue({ resource: 'host:db-1' })
    // The client expects web-1 at this address; db-1's certificate names db-1.
    const result = ssh({ user: DEPLOY, sshd: sshdDb as Sshd, keyFile: forDb.keyFile, certificateFile: forDb.certificateFile, knownHosts, hostKeyAlias: 'web-1' })
    refused(result)
    expect(result.stderr).toContain('Host key verification failed')
  })

  it('has the client refuse a host certificate from another CA', async () => {
    const foreign = join(s.dir, `foreign-host-ca-${suffix}`)
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', foreign])
    const hostKey = join(s.dir, `impostor-${suffix}`)
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey])
    execFileSync('ssh-keygen', ['-q', '-s', foreign, '-h', '-I', 'impostor', '-n', 'web-1', '-V', '-5m:+1h', `${hostKey}.pub`])
    const ca = await (await s.t.app.publicApp.request('/ssh/ca')).json() as { user_ca: string }
    const impostor = await startSshd({
      dir: s.dir, hostName: 'web-1', hostKeyFile: hostKey, hostCertificate: execFileSync('cat', [`${hostKey}-cert.pub`]).toString().trim(),
      userCa: ca.user_ca, krl: await fetchKrl(web),
    })
    try {
      const result = login(await issue(), { sshd: impostor })
      refused(result)
      expect(result.stderr).toContain('Host key verification failed')
    } finally {
      await impostor.stop()
    }
    expect(hostCa).toMatch(/writ-host-ca$/)
  })
})
