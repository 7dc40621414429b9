/** The server executable's life cycle as a supervisor sees it: start failures, the data directory lock, one SIGTERM. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The built executable (npm test builds before it runs), as operators and bench/mint start it.
const LAUNCH = fileURLToPath(new URL('../dist/launch.cjs', import.meta.url))

interface Started {
  child: ChildProcess
  exited: Promise<number | null>
  stderr(): string
}

function launch(dataDir: string, env: Record<string, string> = {}): Started {
  const child = spawn(process.execPath, [LAUNCH], {
    env: { PATH: process.env.PATH ?? '', WRIT_DATA_DIR: dataDir, WRIT_SERVER__PORT: '0', WRIT_SERVER__ADMIN_PORT: '0', WRIT_LOG__LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, exited, stderr: () => stderr }
}

async function waitFor<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (const deadline = Date.now() + 20_000; ;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const serverFileOf = (dataDir: string) => waitFor(() => {
  const file = join(dataDir, 'server.json')
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as { public_url: string; admin_url: string; pid: number } : undefined
}, 'server.json')

function takePort(): Promise<Server> {
  const server = createServer()
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}
const portOf = (server: Server) => (server.address() as { port: number }).port
const closeServer = (server: Server) => new Promise((resolve) => server.close(resolve))

/** A token request whose headers the server has parsed (it answered 100 Continue) and whose body is not yet sent. */
async function requestInFlight(publicUrl: string): Promise<{ socket: Socket; received: () => string }> {
  const { hostname: host, port } = new URL(publicUrl)
  const socket = createConnection(Number(port), host)
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk.toString() })
  socket.on('error', () => undefined)
  socket.write(`POST /oauth/token HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 12\r\nexpect: 100-continue\r\nconnection: keep-alive\r\n\r\n`)
  await waitFor(() => received.includes('100 Continue') ? true : undefined, '100 Continue')
  return { socket, received: () => received }
}

const ALL_DONE = { timeout: 60_000 }

describe('the server executable (built by npm test before it runs)', () => {
  it('exits non-zero naming the address when the admin port is taken, and frees the public port', ALL_DONE, async () => {
    const taken = await takePort()
    const free = await takePort()
    const publicPort = portOf(free)
    await closeServer(free)
    try {
      const server = launch(mkdtempSync(join(tmpdir(), 'writ-life-')), { WRIT_SERVER__PORT: String(publicPort), WRIT_SERVER__ADMIN_PORT: String(portOf(taken)) })
      expect(await server.exited).toBe(1)
      expect(server.stderr()).toContain(`cannot listen on \`127.0.0.1:${portOf(taken)}\` (server.adminHost, server.adminPort)`)
      const again = createServer()
      await new Promise<void>((resolve, reject) => { again.once('error', reject); again.listen(publicPort, '127.0.0.1', resolve) })
      await closeServer(again)
    } finally {
      await closeServer(taken)
    }
  })

  it('refuses a second server on the same data directory, naming the pid of the first, which keeps running', ALL_DONE, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'writ-life-'))
    const first = launch(dataDir)
    try {
      const running = await serverFileOf(dataDir)
      const second = launch(dataDir)
      expect(await second.exited).toBe(1)
      expect(second.stderr()).toContain(`is in use by another writ server (pid ${first.child.pid})`)
      expect(JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8'))).toEqual(running)
      expect((await fetch(`${running.public_url}/.well-known/oauth-authorization-server`)).status).toBe(200)
      first.child.kill('SIGTERM')
      expect(await first.exited).toBe(0)
      expect(existsSync(join(dataDir, 'server.json'))).toBe(false)
      expect(existsSync(join(dataDir, 'server.lock'))).toBe(false)
    } finally {
      first.child.kill('SIGKILL')
    }
  })

  it('takes over the lock of a server that died, and says so in the log', ALL_DONE, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'writ-life-'))
    const dead = spawnSync(process.execPath, ['-e', '']).pid
    writeFileSync(join(dataDir, 'server.lock'), JSON.stringify({ pid: dead, host: hostname() }))
    const server = launch(dataDir)
    try {
      await serverFileOf(dataDir)
      expect(server.stderr()).toContain(`"msg":"took over a stale data directory lock"`)
      expect(server.stderr()).toContain(`"stale_pid":${dead}`)
      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(0)
    } finally {
      server.child.kill('SIGKILL')
    }
  })

  it('one SIGTERM answers a request in flight, then closes its kept-alive connection and exits without waiting out the grace', ALL_DONE, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'writ-life-'))
    // A grace far beyond the test's timeout: the process must not wait for an idle connection to time out.
    const server = launch(dataDir, { WRIT_SERVER__SHUTDOWN_GRACE_MS: '600000' })
    try {
      const { public_url: publicUrl } = await serverFileOf(dataDir)
      const request = await requestInFlight(publicUrl)
      server.child.kill('SIGTERM')
      await waitFor(() => server.stderr().includes('"msg":"writ stopping"') ? true : undefined, 'the stopping log line')
      request.socket.write('grant_type=x')
      expect(await server.exited).toBe(0)
      expect(request.received()).toContain('HTTP/1.1 400 Bad Request')
    } finally {
      server.child.kill('SIGKILL')
    }
  })

  it('one SIGTERM destroys a request that never finishes once the grace is over, and exits 0', ALL_DONE, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'writ-life-'))
    const server = launch(dataDir, { WRIT_SERVER__SHUTDOWN_GRACE_MS: '300', WRIT_SERVER__REQUEST_TIMEOUT_MS: '600000' })
    try {
      const { public_url: publicUrl } = await serverFileOf(dataDir)
      const stuck = await requestInFlight(publicUrl)
      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(0)
      expect(stuck.socket.destroyed || stuck.socket.readableEnded).toBe(true)
    } finally {
      server.child.kill('SIGKILL')
    }
  })

  it('the shutdown backstop ends a process that something holds open, with exit code 1 and a log line', ALL_DONE, () => {
    const dist = (file: string) => JSON.stringify(fileURLToPath(new URL(`../dist/${file}`, import.meta.url)))
    const script = `const { armShutdownBackstop } = await import(${dist('shutdown-backstop.js')})
      const { createLogger } = await import(${dist('logger.js')})
      const { systemClock } = await import(${dist('clock.js')})
      armShutdownBackstop(10, createLogger('info', systemClock))
      setInterval(() => undefined, 1000) // a handle that never closes, like a hung storage pool`
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 })
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('"msg":"shutdown did not finish in time; exiting"')
  })

  it.each([
    ['an environment variable', { WRIT_SERVER__PORT: 'high' }, undefined, 'WRIT_SERVER__PORT: expected a number'],
    ['a key of the file', {}, 'server:\n  port: high\n', 'writ.yaml: server.port: invalid input: expected number, received string'],
    ['a YAML syntax error', {}, 'server:\n  port: 1\n  port: 2\n', 'writ.yaml:3:3: map keys must be unique: `  port: 2`'],
    ['a missing file', {}, null, 'missing.yaml: cannot read the configuration file: does not exist'],
  ] as const)('exits 2 on an invalid configuration from %s, naming it, without a stack', (_name, env, yaml, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'writ-life-'))
    const file = join(dir, yaml === null ? 'missing.yaml' : 'writ.yaml')
    if (yaml) writeFileSync(file, yaml)
    const result = spawnSync(process.execPath, [LAUNCH], {
      env: { PATH: process.env.PATH ?? '', WRIT_DATA_DIR: dir, ...env, ...(yaml === undefined ? {} : { WRIT_CONFIG: file }) }, encoding: 'utf8',
    })
    expect(result.status).toBe(2)
    expect(result.stderr).toContain('error: configuration is invalid [CONFIG_INVALID]')
    expect(result.stderr).toContain(`  - ${yaml === undefined ? '' : dir + '/'}${message}`)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })
})
