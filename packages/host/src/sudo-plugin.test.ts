/**
 * The sudo approval and audit plugin against real sudo 1.9 and the host agent daemon, with a fixture control plane
 * (JWKS, revocation stream, /hosts/actions). Runs as root; takes the sudo test lock (see sudo-system.fixture.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../sdk/src/verify/revocation-stream.fixture.js'
import { startHostAgent, type HostAgent } from './host-agent.js'
import type { HostConfig } from './host-config.js'
import { API_TOKEN, startHostIssuer, type HostIssuerFixture } from './host-issuer.fixture.js'
import { setUpSudoSystem, type SudoSystem } from './sudo-system.fixture.js'

const HOST = 'web-1'
let issuer: HostIssuerFixture
let sys: SudoSystem
let agent: HostAgent
let config: HostConfig
let root: string
let script: string
const logs: Array<Record<string, unknown>> = []
const hostKey = generateKeyPairSync('ed25519').privateKey

async function startAgent(): Promise<HostAgent> {
  const started = await startHostAgent({
    config, privateKey: hostKey, apiToken: async () => API_TOKEN, revocationEventsUrl: issuer.stream.url,
    reportBackoff: { initialMs: 50, maxMs: 200 }, log: (entry) => logs.push(entry),
  })
  await started.revocations.ready
  return started
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'writ-host-'))
  issuer = await startHostIssuer()
  config = {
    issuer: issuer.issuer, host_id: 'host-id-1', name: HOST, audience: `urn:writ:host:${HOST}`, key_path: join(root, 'key.json'),
    socket_path: join(root, 'run', 'host-agent.sock'), state_dir: join(root, 'state'), agent_group: 'unused',
  }
  sys = await setUpSudoSystem(config.socket_path)
  script = join(sys.dir, 'show-argv')
  writeFileSync(script, '#!/bin/sh\nprintf "uid=%s\\n" "$(id -un)"\nfor a in "$@"; do printf "arg=[%s]\\n" "$a"; done\n', { mode: 0o755 })
  agent = await startAgent()
})

afterAll(async () => {
  await agent?.close()
  await sys?.teardown()
  await issuer?.close()
  if (root) rmSync(root, { recursive: true, force: true })
})

/** The command itself has started (exec'd): a revocation or a lost session now has a running command to end. */
const isRunning = (commandLine: string) => spawnSync('pgrep', ['-f', '-x', commandLine]).status === 0

const sudoAs = (user: string, token: string | undefined, argv: string[]) =>
  sys.sudo(user, ['-u', sys.runas, '--', ...argv], token === undefined ? {} : { WRIT_SUDO_TOKEN: token })

const revokeToken = (jti: string) => {
  const now = Math.floor(Date.now() / 1000)
  issuer.stream.revoke({ kind: 'token', jti, iss: issuer.issuer, revoked_at: now, forget_after: now + 960 })
}

/**
 * Runs `argv` as the agent with a fresh token and resolves once the command itself runs (exec'd, seen as
 * `commandLine`): a revocation or a lost session then has a running command to end. `ended()` gives sudo's result,
 * or undefined if it is still running 20 s later.
 */
async function startRunning(name: string, argv: string[], commandLine: string) {
  const jti = `${name}-${Date.now()}`
  const token = await issuer.mint({ host: HOST, runas: sys.runas, argv, jti })
  const run = sudoAs(sys.agent, token, argv)
  await eventually(() => isRunning(commandLine))
  return { jti, ended: () => Promise.race([run, new Promise<undefined>((resolve) => setTimeout(resolve, 20_000))]) }
}

describe('the allowed command', () => {
  it('runs as the run-as user with the exact argv, and its report reaches the control plane', async () => {
    const argv = [script, 'a b', '$(id)', "it's", '"q"', ';', '|', '*']
    const token = await issuer.mint({ host: HOST, runas: sys.runas, argv })
    const result = await sudoAs(sys.agent, token, argv)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`uid=${sys.runas}\n${argv.slice(1).map((a) => `arg=[${a}]\n`).join('')}`)
    await eventually(() => [...issuer.reports.values()].some((r) => r.argv[1] === 'a b' && r.ended_at !== null))
    const report = [...issuer.reports.values()].find((r) => r.argv[1] === 'a b')!
    expect(report).toMatchObject({ runas: sys.runas, argv, command: script, user: sys.agent, exit_status: 0, signal: null, outcome: 'ran' })
    expect(report.ended_at!).toBeGreaterThanOrEqual(report.started_at)
    expect(JSON.stringify(logs)).not.toContain(token)
  })

  it('a command typed by name matches the token by name or by its resolved path; a typed path needs the path', async () => {
    const byName = await issuer.mint({ host: HOST, runas: sys.runas, argv: ['id', '-un'] })
    expect(await sudoAs(sys.agent, byName, ['id', '-un'])).toMatchObject({ code: 0, stdout: `${sys.runas}\n` })
    const byPath = await issuer.mint({ host: HOST, runas: sys.runas, argv: ['/usr/bin/id', '-un'] })
    expect(await sudoAs(sys.agent, byPath, ['id', '-un'])).toMatchObject({ code: 0, stdout: `${sys.runas}\n` })
    const nameForPath = await issuer.mint({ host: HOST, runas: sys.runas, argv: ['id', '-un'] })
    const refused = await sudoAs(sys.agent, nameForPath, ['/usr/bin/id', '-un'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('writ: sudo refused: the command does not match')
  })

  it('reports the exit status of a failing command', async () => {
    const argv = ['/bin/sh', '-c', 'exit 7']
    const token = await issuer.mint({ host: HOST, runas: sys.runas, argv })
    expect((await sudoAs(sys.agent, token, argv)).code).toBe(7)
    await eventually(() => [...issuer.reports.values()].some((r) => r.argv[2] === 'exit 7' && r.exit_status === 7))
  })
})

describe('refused', () => {
  const argv = () => [script, 'one', 'two']
  const cases: Array<{ name: string; token: () => Promise<string | undefined>; run?: () => string[]; user?: () => string; message: string }> = [
    { name: 'no token', token: async () => undefined, message: 'no capability token' },
    { name: 'an extra argument', token: () => issuer.mint({ host: HOST, runas: sys.runas, argv: argv() }), run: () => [...argv(), 'three'], message: 'does not match' },
    { name: 'a changed argument', token: () => issuer.mint({ host: HOST, runas: sys.runas, argv: argv() }), run: () => [script, 'one', 'TWO'], message: 'does not match' },
    { name: 'reordered arguments', token: () => issuer.mint({ host: HOST, runas: sys.runas, argv: argv() }), run: () => [script, 'two', 'one'], message: 'does not match' },
    { name: 'arguments joined differently', token: () => issuer.mint({ host: HOST, runas: sys.runas, argv: [script, 'one two'] }), message: 'does not match' },
    { name: 'another host\'s token', token: () => issuer.mint({ host: 'web-2', runas: sys.runas, argv: argv() }), message: 'another host' },
    { name: 'another host\'s audience on this resource', token: () => issuer.mint({ host: HOST, audience: 'urn:writ:host:web-2', runas: sys.runas, argv: argv() }), message: 'another host' },
    { name: 'another run-as user', token: () => issuer.mint({ host: HOST, runas: 'root', argv: argv() }), message: 'run-as user' },
    { name: 'an expired token', token: () => issuer.mint({ host: HOST, runas: sys.runas, argv: argv(), iatOffset: -400, lifetime: 200 }), message: 'expired' },
    { name: 'a token living longer than 300 s', token: () => issuer.mint({ host: HOST, runas: sys.runas, argv: argv(), lifetime: 600 }), message: 'longer than 300' },
    { name: 'an ssh.login token', token: () => issuer.mint({ host: HOST, action: 'ssh.login', parameters: { principals: [sys.runas] }, argv: [] }), message: 'does not grant sudo.exec' },
    { name: 'a token signed by another key', token: () => issuer.mint({ host: HOST, runas: sys.runas, argv: argv(), key: generateKeyPairSync('ed25519').privateKey }), message: 'invalid' },
    { name: 'a token without argv', token: () => issuer.mint({ host: HOST, argv: [], parameters: { runas: sys.runas } }), message: 'does not name' },
    { name: 'garbage', token: async () => 'not-a-token', message: 'invalid' },
    { name: 'an oversized token', token: async () => 'a'.repeat(20_000), message: 'too large' },
    { name: 'the token for a second agent user', token: () => issuer.mint({ host: HOST, runas: sys.runas, argv: argv() }), user: () => sys.agent, run: () => argv().slice(0, 2), message: 'does not match' },
  ]
  for (const c of cases) {
    it(c.name, async () => {
      const result = await sudoAs(c.user?.() ?? sys.agent, await c.token(), c.run?.() ?? argv())
      expect(result.code).toBe(1)
      expect(result.stdout).toBe('')
      expect(result.stderr).toContain('writ: sudo refused:')
      expect(result.stderr).toContain(c.message)
    })
  }

  it('a run-as group (-g) the token does not name', async () => {
    const token = await issuer.mint({ host: HOST, runas: sys.runas, argv: argv() })
    const result = await sys.sudo(sys.agent, ['-u', sys.runas, '-g', sys.group, '--', ...argv()], { WRIT_SUDO_TOKEN: token })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('writ: sudo refused: a run-as group (-g) is not available to agents')
  })

  it('sudoedit', async () => {
    const token = await issuer.mint({ host: HOST, runas: sys.runas, argv: ['sudoedit', '/etc/hostname'] })
    const result = await sys.sudo(sys.agent, ['-u', sys.runas, '-e', '/etc/hostname'], { WRIT_SUDO_TOKEN: token, EDITOR: '/bin/true' })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('writ: sudo refused: sudoedit is not available to agents')
  })

  it('a spent token, also after the daemon restarted', async () => {
    const token = await issuer.mint({ host: HOST, runas: sys.runas, argv: argv() })
    expect((await sudoAs(sys.agent, token, argv())).code).toBe(0)
    const again = await sudoAs(sys.agent, token, argv())
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('already used')
    await agent.close()
    agent = await startAgent()
    const afterRestart = await sudoAs(sys.agent, token, argv())
    expect(afterRestart.code).toBe(1)
    expect(afterRestart.stderr).toContain('already used')
  })

  it('a revoked token, through the revocation stream', async () => {
    const jti = `revoked-${Date.now()}`
    const token = await issuer.mint({ host: HOST, runas: sys.runas, argv: argv(), jti })
    revokeToken(jti)
    await eventually(() => agent.revocations.list.size > 0)
    const result = await sudoAs(sys.agent, token, argv())
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('revoked')
  })

  it('a running command ends when a revocation covers its token', async () => {
    const { jti, ended } = await startRunning('running', ['/bin/sleep', '60'], '/bin/sleep 60')
    revokeToken(jti)
    const result = await ended()
    expect(result, JSON.stringify(logs.filter((e) => e.jti === jti || String(e.event).startsWith('revocations')))).toBeDefined()
    expect(result!.code).not.toBe(0)
    expect(logs.some((e) => e.event === 'sudo.terminated' && e.jti === jti)).toBe(true)
    await eventually(() => [...issuer.reports.values()].some((r) => r.jti === jti && r.signal === 'SIGTERM'))
      .catch((error: Error) => { throw new Error(`${error.message}: ${JSON.stringify([...issuer.reports.values()].filter((r) => r.jti === jti))} ${JSON.stringify(logs.filter((e) => e.jti === jti || e.report_id !== undefined).slice(-6))}`) })
  })

  it('a running command that ignores SIGTERM and SIGHUP still ends on a revocation: its session ends and sudo kills it', async () => {
    const { jti, ended } = await startRunning('stubborn', ['/bin/sh', '-c', 'trap "" TERM HUP; exec /bin/sleep 63'], '/bin/sleep 63')
    revokeToken(jti)
    const result = await ended()
    expect(result).toBeDefined()
    expect(result!.code).not.toBe(0)
    expect(result!.stderr).toContain('revoked')
    expect(execFileSync('ps', ['-eo', 'args']).toString().split('\n')).not.toContain('/bin/sleep 63')
  })

  it('a running command ends when the host agent goes away, since its run could no longer be recorded (SUDO-05)', async () => {
    const { jti, ended } = await startRunning('orphaned', ['/bin/sleep', '61'], '/bin/sleep 61')
    expect(logs.some((e) => e.event === 'sudo.session' && e.jti === jti)).toBe(true)
    await agent.close()
    try {
      const result = await ended()
      expect(result).toBeDefined()
      expect(result!.code).not.toBe(0)
      expect(result!.stderr).toContain('host agent went away')
      expect(execFileSync('ps', ['-eo', 'args']).toString().split('\n')).not.toContain('/bin/sleep 61')
    } finally {
      agent = await startAgent()
    }
  })

  it('when the daemon is down (fail closed)', async () => {
    const token = await issuer.mint({ host: HOST, runas: sys.runas, argv: argv() })
    await agent.close()
    try {
      const result = await sudoAs(sys.agent, token, argv())
      expect(result.code).toBe(1)
      expect(result.stderr).toContain('not answering')
    } finally {
      agent = await startAgent()
    }
  })
})

describe('unaffected users', () => {
  it('root and a user outside the agent group run sudo without a token', async () => {
    expect(await sys.sudo('root', ['-u', sys.runas, '--', 'id', '-un'])).toMatchObject({ code: 0, stdout: `${sys.runas}\n` })
    expect(await sys.sudo(sys.otherUser, ['-u', sys.runas, '--', 'id', '-un'])).toMatchObject({ code: 0, stdout: `${sys.runas}\n` })
  })
})

describe('single use under a race', () => {
  it('50 concurrent sudo runs with one token: exactly one runs', async () => {
    const argv = [script, 'race']
    const token = await issuer.mint({ host: HOST, runas: sys.runas, argv })
    const results = await Promise.all(Array.from({ length: 50 }, () => sudoAs(sys.agent, token, argv)))
    expect(results.filter((r) => r.code === 0)).toHaveLength(1)
    expect(results.filter((r) => r.code === 1 && r.stderr.includes('already used'))).toHaveLength(49)
  }, 120_000)
})

describe('reports while the control plane is down', () => {
  it('are spooled and arrive once it is back', async () => {
    issuer.down = true
    const argv = [script, 'while-down']
    const token = await issuer.mint({ host: HOST, runas: sys.runas, argv })
    expect((await sudoAs(sys.agent, token, argv)).code).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect([...issuer.reports.values()].some((r) => r.argv[1] === 'while-down')).toBe(false)
    issuer.down = false
    await eventually(() => [...issuer.reports.values()].some((r) => r.argv[1] === 'while-down' && r.exit_status === 0))
  })
})

describe('the socket', () => {
  it('refuses a connection from a non-root process', () => {
    const probe = `require('net').connect(${JSON.stringify(config.socket_path)}).on('connect',()=>process.exit(0)).on('error',(e)=>{console.log(e.code);process.exit(3)})`
    let code = 0
    let out = ''
    try {
      out = execFileSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', probe]).toString()
    } catch (error) {
      code = (error as { status: number }).status
      out = String((error as { stdout: Buffer }).stdout)
    }
    expect(code).toBe(3)
    expect(out.trim()).toBe('EACCES')
  })
})
