/**
 * End to end on one machine: a real Writ server, `writ host enroll` (the host side, into a temporary root), the host
 * agent authenticating as the enrolled host, real sudo with the plugin, `writ sudo` run by an agent account, and the
 * `sudo.exec` record in Writ's audit log; then a run while the control plane is down, whose report arrives once it is
 * back. Runs as root; takes the sudo test lock.
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN_FILE, createLogger, loadConfig, startServer, systemClock, type RunningServer } from '@writ/server'
import { enrollThisHost, startHostAgent, type HostAgent, type HostConfig } from '@writ/host'
import { setUpSudoSystem, type SudoSystem } from '../packages/host/src/sudo-system.fixture.js'
import { ensureServerBuilt, REPO_ROOT } from './server-process.fixture.js'

const HOST = `web-${randomBytes(3).toString('hex')}`
let server: RunningServer
let ports: { port: number; adminPort: number }
let dataDir: string
let root: string
let sys: SudoSystem
let config: HostConfig
let hostAgent: HostAgent
let adminToken: string
let agentId: string
let keyFile: string
let script: string

async function start(): Promise<RunningServer> {
  const config = loadConfig({
    env: {},
    flags: {
      dataDir, server: { port: ports?.port ?? 0, adminPort: ports?.adminPort ?? 0, shutdownGraceMs: 1_000 },
      log: { level: 'silent' }, revocation: { heartbeatSeconds: 1, pollIntervalMs: 500 },
    },
  })
  return startServer(config, systemClock, createLogger('silent', systemClock))
}

async function admin(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.adminUrl}${path}`, {
    method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`)
  return JSON.parse(text) as Record<string, unknown>
}

async function sudoRecords(): Promise<Array<Record<string, unknown>>> {
  const { records } = await admin('GET', '/v1/audit?type=sudo.exec&limit=1000') as { records: Array<Record<string, unknown>> }
  return records
}

async function eventually(condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * `writ sudo` as the agent's unix account: mints the token with the agent's key and runs sudo with it. Where that
 * account cannot read the checkout (a CI job under /root), the same two steps run split: `writ sudo token` as root,
 * then sudo as the agent with the token in WRIT_SUDO_TOKEN, which is what `writ sudo` does.
 */
async function writSudo(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = join(REPO_ROOT, 'packages/cli/dist/writ.cjs')
  const agentOptions = ['--agent', agentId, '--key', keyFile, '--host', HOST, '--runas', sys.runas, '--task', 'T-e2e']
  const readable = await run('runuser', ['-u', sys.agent, '--', 'test', '-r', cli])
  if (readable.code !== 0) {
    const minted = await run(process.execPath, [cli, '--url', server.publicUrl, 'sudo', 'token', ...agentOptions, '--', ...argv])
    if (minted.code !== 0) return minted
    return sys.sudo(sys.agent, ['-u', sys.runas, '--', ...argv], { WRIT_SUDO_TOKEN: minted.stdout.trim() })
  }
  return run('runuser', ['-u', sys.agent, '--', process.execPath, cli, '--url', server.publicUrl, 'sudo', ...agentOptions, '--', ...argv])
}

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

beforeAll(async () => {
  await ensureServerBuilt()
  dataDir = mkdtempSync(join(tmpdir(), 'writ-host-e2e-data-'))
  root = mkdtempSync(join(tmpdir(), 'writ-host-e2e-'))
  server = await start()
  ports = { port: Number(new URL(server.publicUrl).port), adminPort: Number(new URL(server.adminUrl).port) }
  adminToken = readFileSync(join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim()

  // The host: enrolled with a join token, everything written under a temporary root.
  const { token } = await admin('POST', '/v1/hosts/join-tokens', { name: HOST, labels: { env: 'test' } }) as { token: string }
  const lines: string[] = []
  config = await enrollThisHost({
    server: server.publicUrl, joinToken: token, createGroup: false, out: (line) => lines.push(line),
    paths: {
      etcDir: join(root, 'etc/writ'), sshdConfigDir: join(root, 'etc/ssh/sshd_config.d'), sshHostKey: join(root, 'ssh_host_ed25519_key'),
      sudoConf: join(root, 'etc/sudo.conf'), pluginPath: join(root, 'libexec/writ_sudo.so'), socketPath: join(root, 'run/host-agent.sock'),
      stateDir: join(root, 'state'), agentGroup: 'writ-agents',
    },
  })
  expect(lines.join('\n')).toContain(`enrolled host ${HOST}`)
  sys = await setUpSudoSystem(config.socket_path)
  script = join(sys.dir, 'show-argv')
  writeFileSync(script, '#!/bin/sh\nprintf "uid=%s\\n" "$(id -un)"\nfor a in "$@"; do printf "arg=[%s]\\n" "$a"; done\n', { mode: 0o755 })
  hostAgent = await startHostAgent({
    config, privateKey: JSON.parse(readFileSync(config.key_path, 'utf8')) as Record<string, unknown>,
    reportBackoff: { initialMs: 100, maxMs: 500 }, log: () => undefined,
  })
  await hostAgent.revocations.ready

  // Policy: everything, and ssh.login grants the unix user `deploy` (policy decides principals, never the request).
  await admin('POST', '/v1/policies', {
    files: {
      'default.cedar': '@id("default")\npermit (principal, action, resource);\n',
      'ssh.cedar': '@id("ssh-login")\n@ssh_principals("deploy")\npermit (principal, action == Writ::Action::"ssh.login", resource);\n',
    },
  })
  // The agent: allowed sudo.exec on this host; its key readable by its unix account only.
  const privateJwk = { ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'sre-1' }
  const { d: _d, ...publicJwk } = privateJwk
  const agent = await admin('POST', '/v1/agents', {
    name: `sre-${HOST}`, owner: 'ops@example.com', team: 'sre', platform: 'custom',
    capabilities: [{ id: 'sudo.exec', risk_level: 'low' }, { id: 'ssh.login', risk_level: 'low' }],
    data_access: [{ resource: `host:${HOST}`, access_type: 'write', sensitivity: 'internal' }],
    jwks: { keys: [publicJwk] },
  })
  agentId = agent.id as string
  keyFile = join(sys.dir, 'agent.jwk')
  writeFileSync(keyFile, JSON.stringify(privateJwk), { mode: 0o600 })
  chownSync(keyFile, Number(execFileSync('id', ['-u', sys.agent]).toString()), 0)
}, 120_000)

afterAll(async () => {
  await hostAgent?.close()
  await sys?.teardown()
  await server?.close()
  for (const dir of [root, dataDir]) if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('a host enrolled with Writ', () => {
  it('enrollment wrote the host agent config, the sshd drop-in and the sudo.conf block', () => {
    expect(config).toMatchObject({ name: HOST, audience: `urn:writ:host:${HOST}`, issuer: server.app.issuer })
    expect(readFileSync(join(root, 'etc/ssh/sshd_config.d/writ.conf'), 'utf8')).toContain(`AuthorizedPrincipalsCommand /bin/echo %u@${HOST}`)
    expect(readFileSync(join(root, 'etc/sudo.conf'), 'utf8')).toMatch(/^Plugin writ_approval .*writ_sudo\.so group=writ-agents socket=/m)
    expect(existsSync(config.krl_path!)).toBe(true)
    expect(readFileSync(config.key_path, 'utf8')).toContain('"d"')
  })

  it('`writ sudo` as an agent runs exactly one command, and the run lands in the audit log as sudo.exec', async () => {
    const result = await writSudo([script, 'a b', '$(id)'])
    expect(result.stderr).not.toContain('refused')
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`uid=${sys.runas}\narg=[a b]\narg=[$(id)]\n`)
    await eventually(async () => (await sudoRecords()).length > 0)
    const [record] = await sudoRecords()
    expect(JSON.stringify(record)).toContain('a b')
    expect(JSON.stringify(record)).toContain(agentId)
  })

  it('`writ sudo token` prints a sudo.exec token for exactly that argv, host and run-as user', async () => {
    const cli = join(REPO_ROOT, 'packages/cli/dist/writ.cjs')
    // Asynchronously: the server runs in this process and must answer while the CLI waits.
    const { stdout } = await promisify(execFile)(process.execPath, [cli, '--url', server.publicUrl, 'sudo', 'token', '--agent', agentId, '--key', keyFile,
      '--host', HOST, '--runas', sys.runas, '--task', 'T-token', '--', 'systemctl', 'restart', 'nginx', '--now'], { env: { PATH: process.env.PATH ?? '' } })
    const token = stdout.trim()
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
    expect(claims.aud).toBe(`urn:writ:host:${HOST}`)
    expect(claims.authorization_details).toEqual([expect.objectContaining({
      action: 'sudo.exec', resource: `host:${HOST}`, parameters: { runas: sys.runas, argv: ['systemctl', 'restart', 'nginx', '--now'] },
    })])
    expect(claims.exp as number - (claims.iat as number)).toBeLessThanOrEqual(300)
  })

  it('revoking the task ends a command that is running under it', async () => {
    const { createAgentClient } = await import('@writ/sdk')
    const client = createAgentClient({ issuer: server.app.issuer, agent: agentId, privateKey: JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown> })
    const argv = ['/bin/sleep', '64']
    const grant = await client.requestCapability({
      action: 'sudo.exec', resource: `host:${HOST}`, audience: `urn:writ:host:${HOST}`, taskId: 'T-stop', parameters: { runas: sys.runas, argv },
    })
    const started = Date.now()
    const run = sys.sudo(sys.agent, ['-u', sys.runas, '--', ...argv], { WRIT_SUDO_TOKEN: grant.accessToken })
    // Revoked once the command itself runs: a revocation before that refuses the run instead (no SIGTERM to report).
    await eventually(() => spawnSync('pgrep', ['-f', '-x', argv.join(' ')]).status === 0, 10_000)
    await admin('POST', '/v1/revocations', { kind: 'task', task_id: 'T-stop', reason: 'stop the task' })
    const result = await run
    expect(result.code).not.toBe(0)
    expect(Date.now() - started).toBeLessThan(15_000)
    await eventually(async () => JSON.stringify(await sudoRecords()).includes('SIGTERM'))
  })

  it('a report made while the control plane is down arrives once it is back', async () => {
    const token = await mintDirect([script, 'while-down'])
    const before = (await sudoRecords()).length
    await server.close()
    try {
      // Within the revocation list's freshness window the host still decides; the report waits in its spool.
      const result = await sys.sudo(sys.agent, ['-u', sys.runas, '--', script, 'while-down'], { WRIT_SUDO_TOKEN: token })
      expect(result.code).toBe(0)
      await new Promise((resolve) => setTimeout(resolve, 1_000))
    } finally {
      server = await start()
    }
    await eventually(async () => (await sudoRecords()).length > before)
    expect(JSON.stringify(await sudoRecords())).toContain('while-down')
  }, 60_000)
})

describe('the KRL installer', () => {
  it('a revoked SSH certificate is in the installed KRL within 1 s of the revocation (pushed, not polled)', async () => {
    const { createAgentClient } = await import('@writ/sdk')
    const privateJwk = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>
    const client = createAgentClient({ issuer: server.app.issuer, agent: agentId, privateKey: privateJwk })
    const grant = await client.requestCapability({ action: 'ssh.login', resource: `host:${HOST}`, audience: `urn:writ:host:${HOST}`, taskId: 'T-krl', parameters: { principals: ['deploy'] } })
    const userKey = join(root, 'agent-ssh-key')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', userKey])
    const response = await fetch(`${server.publicUrl}/ssh/certificates`, {
      method: 'POST', headers: { authorization: `Bearer ${grant.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: readFileSync(`${userKey}.pub`, 'utf8').trim() }),
    })
    const body = await response.json() as { certificate: string }
    expect(response.status, JSON.stringify(body)).toBe(201)
    const { certificate } = body
    writeFileSync(`${userKey}-cert.pub`, `${certificate}\n`)
    const krlPath = config.krl_path!
    const query = () => { try { execFileSync('ssh-keygen', ['-Q', '-f', krlPath, `${userKey}-cert.pub`]); return 'ok' } catch { return 'revoked' } }
    // The installer has fetched since the certificate was issued (its interval is 30 s: a change within 1 s is the push).
    await hostAgent.krl!.refresh()
    expect(query()).toBe('ok')
    const before = readFileSync(krlPath)
    const jti = JSON.parse(Buffer.from(grant.accessToken.split('.')[1]!, 'base64url').toString()).jti as string
    const started = performance.now()
    await admin('POST', '/v1/revocations', { kind: 'token', jti, reason: 'krl push test' })
    await eventually(() => !readFileSync(krlPath).equals(before), 5_000)
    const elapsedMs = performance.now() - started
    if (/\bwrit\b/.test(process.env.DEBUG ?? '')) process.stderr.write(`revocation call → KRL installed: ${elapsedMs.toFixed(0)} ms\n`)
    expect(elapsedMs).toBeLessThan(1_000)
    expect(query()).toBe('revoked')
  })
})

describe('the host certificate', () => {
  it('is current after enrollment, and renewed (write then rename) when within the renewal window', async () => {
    const { renewHostCertificateIfDue, certificateValidBefore } = await import('@writ/host')
    expect(await hostAgent.certificateChecked).toBe('current')
    const path = config.ssh_host_certificate_path!
    const before = readFileSync(path, 'utf8')
    const entries: Array<Record<string, unknown>> = []
    const apiToken = async () => {
      const { ResourceServerClient } = await import('@writ/sdk')
      const client = new ResourceServerClient({ issuer: config.issuer, clientId: config.host_id, privateKey: JSON.parse(readFileSync(config.key_path, 'utf8')) as Record<string, unknown> })
      return (await client.apiToken('writ:revocations')).token
    }
    const result = await renewHostCertificateIfDue({
      url: `${server.publicUrl}/ssh/host-certificate`, publicKeyPath: config.ssh_host_public_key_path!, certificatePath: path,
      apiToken, renewBeforeSeconds: 365 * 24 * 3600, log: (entry) => entries.push(entry), nowSeconds: () => Math.floor(Date.now() / 1000),
    })
    expect(result, JSON.stringify(entries)).toBe('renewed')
    const after = readFileSync(path, 'utf8')
    expect(after).not.toBe(before)
    expect(certificateValidBefore(after)).toBeGreaterThan(Date.now() / 1000 + 24 * 3600)
    const listing = execFileSync('ssh-keygen', ['-L', '-f', path]).toString()
    expect(listing).toContain('host certificate')
    expect(listing).toContain(HOST)
  })
})

describe('writ host enroll --dry-run and writ host uninstall', () => {
  it('a dry run prints the plan and writes nothing; uninstall removes the sudo.conf block and the sshd drop-in', async () => {
    const { uninstallThisHost } = await import('@writ/host')
    const dry = mkdtempSync(join(tmpdir(), 'writ-host-dry-'))
    try {
      const lines: string[] = []
      await enrollThisHost({
        server: server.publicUrl, joinToken: 'unused', name: 'dry-1', dryRun: true, out: (line) => lines.push(line),
        paths: { etcDir: join(dry, 'etc'), sshdConfigDir: join(dry, 'sshd'), sshHostKey: join(dry, 'key'), sudoConf: join(dry, 'sudo.conf'), pluginPath: join(dry, 'p.so') },
      })
      expect(lines.join('\n')).toContain('AuthorizedPrincipalsCommand /bin/echo %u@dry-1')
      expect(lines.join('\n')).toContain('Plugin writ_approval')
      expect(execFileSync('find', [dry, '-mindepth', '1']).toString()).toBe('')
    } finally {
      rmSync(dry, { recursive: true, force: true })
    }
    const paths = { etcDir: join(root, 'etc/writ'), sshdConfigDir: join(root, 'etc/ssh/sshd_config.d'), sudoConf: join(root, 'etc/sudo.conf') }
    const out: string[] = []
    uninstallThisHost({ paths, out: (line) => out.push(line) })
    expect(readFileSync(paths.sudoConf, 'utf8')).not.toContain('writ')
    expect(existsSync(join(paths.sshdConfigDir, 'writ.conf'))).toBe(false)
    expect(out.join('\n')).toContain('removed the writ plugin block')
  })
})

/** A sudo.exec token minted through the agent SDK (what `writ sudo token` prints). */
async function mintDirect(argv: string[]): Promise<string> {
  const { createAgentClient } = await import('@writ/sdk')
  const privateJwk = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>
  const client = createAgentClient({ issuer: server.app.issuer, agent: agentId, privateKey: privateJwk })
  const grant = await client.requestCapability({
    action: 'sudo.exec', resource: `host:${HOST}`, audience: `urn:writ:host:${HOST}`, taskId: 'T-e2e', parameters: { runas: sys.runas, argv },
  })
  return grant.accessToken
}
