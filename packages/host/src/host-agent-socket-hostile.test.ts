/**
 * Hostile input on the host agent's socket, table-driven: frames the plugin never sends (NULs inside argv, bad
 * lengths, unknown kinds, truncation, oversize) are refused or the connection is dropped; nothing is spent or run.
 * Needs no sudo: it speaks the plugin's wire directly.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHostAgent, type HostAgent } from './host-agent.js'
import { API_TOKEN, startHostIssuer, type HostIssuerFixture } from './host-issuer.fixture.js'
import { argvMatches } from './sudo-check.js'
import { encodeFrame, MAX_REQUEST_BYTES, parseFields } from './sudo-wire.js'
import { SUDO_CONF_BEGIN, SUDO_CONF_END, withoutWritPlugins, withWritPlugins } from './sudo-conf.js'

const HOST = 'web-1'
let issuer: HostIssuerFixture
let agent: HostAgent
let root: string
let socketPath: string

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'writ-host-hostile-'))
  issuer = await startHostIssuer()
  socketPath = join(root, 'run', 'agent.sock')
  agent = await startAgent()
})

async function startAgent(): Promise<HostAgent> {
  const started = await startHostAgent({
    config: { issuer: issuer.issuer, host_id: 'h', name: HOST, audience: `urn:writ:host:${HOST}`, key_path: join(root, 'k'), socket_path: socketPath, state_dir: join(root, 'state'), agent_group: 'g' },
    privateKey: generateKeyPairSync('ed25519').privateKey, apiToken: async () => API_TOKEN, revocationEventsUrl: issuer.stream.url, log: () => undefined,
  })
  await started.revocations.ready
  return started
}

afterAll(async () => {
  await agent?.close()
  await issuer?.close()
  if (root) rmSync(root, { recursive: true, force: true })
})

/** Sends raw bytes; resolves with the reply kind and message, or 'closed' when the daemon dropped the connection. */
function exchange(bytes: Buffer): Promise<{ kind: string; message: string } | 'closed'> {
  return new Promise((resolve) => {
    const socket = connect(socketPath)
    const chunks: Buffer[] = []
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', () => resolve('closed'))
    socket.on('close', () => {
      const reply = Buffer.concat(chunks)
      if (reply.length < 5) return resolve('closed')
      const length = reply.readUInt32BE(5)
      resolve({ kind: String.fromCharCode(reply[4]!), message: reply.subarray(9, 9 + length).toString() })
    })
    socket.end(bytes)
  })
}

const check = (token: string, argv: (string | Buffer)[], runas = 'root', command = '/usr/bin/true') =>
  encodeFrame('C', [token, 'agent', '/', runas, command, String(process.pid), ...argv])

describe('frames the plugin never sends', () => {
  const cases: Array<{ name: string; frame: () => Promise<Buffer> | Buffer; expected: 'closed' | RegExp }> = [
    { name: 'a NUL inside an argv element', frame: async () => check(await issuer.mint({ host: HOST, argv: ['true', 'a\u0000b'] }), ['true', Buffer.from('a\u0000b')]), expected: /malformed/ },
    { name: 'a NUL inside the token', frame: () => check('a\u0000b', ['true']), expected: /malformed/ },
    { name: 'argv bytes that are not UTF-8', frame: () => check('x', ['true', Buffer.from([0xff, 0xfe])]), expected: /malformed/ },
    { name: 'no argv at all', frame: () => encodeFrame('C', ['x', 'agent', '/', 'root', '/usr/bin/true', '1']), expected: /malformed/ },
    { name: 'a pid that is not a number', frame: () => encodeFrame('C', ['x', 'agent', '/', 'root', '/usr/bin/true', '1; kill', 'true']), expected: /malformed/ },
    { name: 'an unknown kind', frame: () => encodeFrame('Z', ['x']), expected: /malformed/ },
    { name: 'a field length past the end', frame: () => { const f = check('x', ['true']); f.writeUInt32BE(0xffff, 5); return f }, expected: /malformed/ },
    { name: 'a length prefix over the limit', frame: () => { const b = Buffer.alloc(8); b.writeUInt32BE(MAX_REQUEST_BYTES + 1); return b }, expected: 'closed' },
    { name: 'a zero length prefix', frame: () => Buffer.alloc(4), expected: 'closed' },
    { name: 'more bytes than the prefix says', frame: () => Buffer.concat([check('x', ['true']), Buffer.from('extra')]), expected: 'closed' },
    { name: 'an oversized token', frame: () => check('a'.repeat(17 * 1024), ['true']), expected: /malformed/ },
    { name: 'an end for a report that does not exist', frame: () => encodeFrame('E', ['no-such-report', 'exit', '0']), expected: /ok/ },
    { name: 'an end with a bad status kind', frame: () => encodeFrame('E', ['r', 'boom', '0']), expected: /malformed/ },
    { name: 'a session for a run that does not exist', frame: () => encodeFrame('S', ['no-such-report']), expected: /no such run/ },
    { name: 'a session with more than the report id', frame: () => encodeFrame('S', ['r', 'x']), expected: /malformed/ },
  ]
  for (const c of cases) {
    it(c.name, async () => {
      const reply = await exchange(await c.frame())
      if (c.expected === 'closed') expect(reply).toBe('closed')
      else {
        expect(reply).not.toBe('closed')
        expect((reply as { message: string }).message).toMatch(c.expected)
        expect((reply as { kind: string }).kind).not.toBe('A')
      }
    })
  }

  it('a truncated frame (the peer stops sending) is dropped, not waited on forever', async () => {
    const reply = await exchange(check('x', ['true']).subarray(0, 10))
    expect(reply).toBe('closed')
  })

  it('the same honest frame is allowed once and then refused as spent', async () => {
    const token = await issuer.mint({ host: HOST, argv: ['true', ';', '$(reboot)', "'"] })
    const frame = check(token, ['true', ';', '$(reboot)', "'"])
    expect(await exchange(frame)).toMatchObject({ kind: 'A' })
    expect(await exchange(frame)).toMatchObject({ kind: 'D', message: 'the token was already used' })
  })
})

describe('argv matching, as vectors', () => {
  const cases: Array<[string[], string[], string, boolean]> = [
    [['systemctl', 'restart', 'nginx'], ['systemctl', 'restart', 'nginx'], '/usr/bin/systemctl', true],
    [['/usr/bin/systemctl', 'restart', 'nginx'], ['systemctl', 'restart', 'nginx'], '/usr/bin/systemctl', true],
    [['systemctl', 'restart', 'nginx'], ['/usr/bin/systemctl', 'restart', 'nginx'], '/usr/bin/systemctl', false],
    [['/bin/systemctl', 'restart', 'nginx'], ['systemctl', 'restart', 'nginx'], '/usr/bin/systemctl', false],
    [['systemctl', 'restart nginx'], ['systemctl', 'restart', 'nginx'], '/usr/bin/systemctl', false],
    [['systemctl', 'restart', 'nginx'], ['systemctl', 'restart', 'nginx', ''], '/usr/bin/systemctl', false],
    [['systemctl', 'nginx', 'restart'], ['systemctl', 'restart', 'nginx'], '/usr/bin/systemctl', false],
    [['systemctl', 'Restart', 'nginx'], ['systemctl', 'restart', 'nginx'], '/usr/bin/systemctl', false],
    [[], [], '/usr/bin/true', false],
  ]
  for (const [token, run, command, expected] of cases) {
    it(`${JSON.stringify(token)} vs ${JSON.stringify(run)} → ${expected}`, () => expect(argvMatches(token, run, command)).toBe(expected))
  }
})

describe('sudo.conf editing', () => {
  const settings = { pluginPath: '/usr/local/libexec/writ/writ_sudo.so', group: 'writ-agents', socketPath: '/run/writ/host-agent.sock' }
  it('keeps the file, names sudoers explicitly when nothing was named, and is removed exactly', () => {
    const original = '# comment\nSet disable_coredump false\n'
    const added = withWritPlugins(original, settings)
    expect(added.startsWith(original)).toBe(true)
    expect(added).toContain('Plugin sudoers_policy sudoers.so')
    expect(added).toContain(`Plugin writ_approval ${settings.pluginPath} group=writ-agents socket=${settings.socketPath}`)
    expect(withWritPlugins(added, settings)).toBe(added)
    expect(withoutWritPlugins(added)).toBe(original)
  })
  it('keeps an existing policy plugin and adds no second one', () => {
    const original = 'Plugin sudoers_policy sudoers.so\n'
    const added = withWritPlugins(original, settings)
    expect(added.match(/sudoers_policy/g)).toHaveLength(1)
    expect(added.split('\n')).toContain(SUDO_CONF_BEGIN)
    expect(added.split('\n')).toContain(SUDO_CONF_END)
  })
  it('refuses values sudo.conf would split', () => {
    expect(() => withWritPlugins('', { ...settings, group: 'a b' })).toThrow()
    expect(() => withWritPlugins('', { ...settings, socketPath: '/run/x\nPlugin evil /tmp/e.so' })).toThrow()
  })
})

/** Opens a session: resolves with the first reply and the still-open socket; `closed` settles with what came after it. */
function openSession(reportId: string): Promise<{ kind: string; socket: Socket; closed: Promise<Buffer> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath)
    let buffered = Buffer.alloc(0)
    let replied = false
    let afterReply: Buffer[] = []
    const closed = new Promise<Buffer>((done) => socket.on('close', () => done(Buffer.concat(afterReply))))
    socket.on('error', () => undefined)
    socket.on('data', (chunk: Buffer) => {
      if (replied) return void afterReply.push(chunk)
      buffered = Buffer.concat([buffered, chunk])
      if (buffered.length < 4 || buffered.length < 4 + buffered.readUInt32BE(0)) return
      replied = true
      const length = buffered.readUInt32BE(0)
      afterReply = [buffered.subarray(4 + length)]
      resolve({ kind: String.fromCharCode(buffered[4]!), socket, closed })
    })
    socket.on('close', () => { if (!replied) reject(new Error('closed before a reply')) })
    socket.write(encodeFrame('S', [reportId]))
  })
}

describe('the run\'s session (SUDO-05)', () => {
  // The frame names a sudo pid, which a revocation signals: a child of ours stands in, never this test's process.
  const standIns: ChildProcess[] = []
  afterAll(() => { for (const child of standIns) child.kill('SIGKILL') })

  async function allowedRun(jti: string): Promise<string> {
    const token = await issuer.mint({ host: HOST, argv: ['true', jti], jti })
    const standIn = spawn('sleep', ['60'], { stdio: 'ignore' })
    standIns.push(standIn)
    const frame = encodeFrame('C', [token, 'agent', '/', 'root', '/usr/bin/true', String(standIn.pid), 'true', jti])
    const reply = await new Promise<Buffer>((resolve) => {
      const socket = connect(socketPath)
      const chunks: Buffer[] = []
      socket.on('data', (chunk) => chunks.push(chunk))
      socket.on('close', () => resolve(Buffer.concat(chunks)))
      socket.end(frame)
    })
    const { kind, fields } = parseFields(reply.subarray(4))
    expect(kind).toBe('A')
    return fields[1]!.toString()
  }

  it('is opened once per allowed run, stays open, and carries a terminate notice when a revocation covers the token', async () => {
    const jti = `session-${Date.now()}`
    const reportId = await allowedRun(jti)
    const session = await openSession(reportId)
    expect(session.kind).toBe('K')
    expect(await exchange(encodeFrame('S', [reportId]))).toMatchObject({ kind: 'D', message: 'no such run in progress' })
    const stillOpen = await Promise.race([session.closed.then(() => false), new Promise((resolve) => setTimeout(() => resolve(true), 300))])
    expect(stillOpen).toBe(true)
    issuer.stream.revoke({ kind: 'token', jti, iss: issuer.issuer, revoked_at: Math.floor(Date.now() / 1000), forget_after: Math.floor(Date.now() / 1000) + 960 })
    const notice = await session.closed
    expect(parseFields(notice.subarray(4)).kind).toBe('T')
  })

  it('is closed when the daemon goes away, and a restarted daemon knows no session for the old run', async () => {
    const reportId = await allowedRun(`gone-${Date.now()}`)
    const session = await openSession(reportId)
    expect(session.kind).toBe('K')
    await agent.close()
    try {
      expect((await session.closed).length).toBe(0)
    } finally {
      agent = await startAgent()
    }
    expect(await exchange(encodeFrame('S', [reportId]))).toMatchObject({ kind: 'D', message: 'no such run in progress' })
  })
})
