/** `writ serve` as users run it: start failures end the process, TLS works with the CLI when it trusts the CA. */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const WRIT = join(ROOT, 'packages/cli/dist/writ.cjs')
const ENV = { PATH: process.env.PATH ?? '' }
const ALL_DONE = { timeout: 60_000 }

interface Serving { child: ChildProcess; exited: Promise<number | null>; stdout(): string; stderr(): string }

function serve(args: string[], env: Record<string, string> = {}): Serving {
  const child = spawn(process.execPath, [WRIT, 'serve', ...args], { env: { ...ENV, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

async function running(server: Serving): Promise<void> {
  for (const deadline = Date.now() + 20_000; !server.stdout().includes('press Ctrl-C to stop');) {
    if (server.child.exitCode !== null) throw new Error(`serve exited with ${server.child.exitCode}: ${server.stderr()}`)
    if (Date.now() > deadline) throw new Error(`serve did not start: ${server.stdout()}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

function takePort(): Promise<Server> {
  const server = createServer()
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}
const portOf = (server: Server) => (server.address() as { port: number }).port
const closeServer = (server: Server) => new Promise((resolve) => server.close(resolve))

describe('writ serve', () => {
  beforeAll(() => {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b'], { cwd: ROOT, stdio: 'pipe' })
  })

  it('exits 1 naming the address when the admin port is taken, and frees the public port', ALL_DONE, async () => {
    const taken = await takePort()
    const free = await takePort()
    const publicPort = portOf(free)
    await closeServer(free)
    try {
      const server = serve(['--data-dir', mkdtempSync(join(tmpdir(), 'writ-serve-')), '--port', String(publicPort), '--admin-port', String(portOf(taken))])
      expect(await server.exited).toBe(1)
      expect(server.stderr()).toContain(`error: cannot listen on \`127.0.0.1:${portOf(taken)}\` (server.adminHost, server.adminPort): the address is already in use`)
      expect(server.stderr()).toContain('[LISTEN_FAILED]')
      const again = createServer()
      await new Promise<void>((resolve, reject) => { again.once('error', reject); again.listen(publicPort, '127.0.0.1', resolve) })
      await closeServer(again)
    } finally {
      await closeServer(taken)
    }
  })

  it('refuses a second server on the same data directory, naming the pid of the first', ALL_DONE, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'writ-serve-'))
    const first = serve(['--data-dir', dataDir, '--port', '0', '--admin-port', '0'])
    try {
      await running(first)
      const second = serve(['--data-dir', dataDir, '--port', '0', '--admin-port', '0'])
      expect(await second.exited).toBe(1)
      expect(second.stderr()).toContain(`(pid ${first.child.pid})`)
      expect(second.stderr()).toContain('[DATA_DIR_LOCKED]')
      first.child.kill('SIGTERM')
      expect(await first.exited).toBe(0)
    } finally {
      first.child.kill('SIGKILL')
    }
  })

  it('serves HTTPS with a configured certificate, and the CLI talks to it when NODE_EXTRA_CA_CERTS names the CA', ALL_DONE, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'writ-serve-tls-'))
    const [certFile, keyFile] = [join(dir, 'cert.pem'), join(dir, 'key.pem')]
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=writ test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'pipe' })
    const dataDir = join(dir, 'data')
    const server = serve(['--data-dir', dataDir, '--port', '0', '--admin-port', '0'], { WRIT_SERVER__TLS__CERT_FILE: certFile, WRIT_SERVER__TLS__KEY_FILE: keyFile })
    try {
      await running(server)
      expect(server.stdout()).toMatch(/public API\s+https:\/\/127\.0\.0\.1:\d+/)
      expect(server.stdout()).toMatch(/admin API\s+https:\/\/127\.0\.0\.1:\d+/)
      expect(JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')).admin_url).toMatch(/^https:/)
      const trusted = spawnSync(process.execPath, [WRIT, '--data-dir', dataDir, 'agent', 'list', '--json'], { env: { ...ENV, NODE_EXTRA_CA_CERTS: certFile }, encoding: 'utf8' })
      expect(trusted.stderr).toBe('')
      expect(JSON.parse(trusted.stdout)).toEqual({ agents: [] })
      const untrusted = spawnSync(process.execPath, [WRIT, '--data-dir', dataDir, 'agent', 'list', '--json'], { env: ENV, encoding: 'utf8' })
      expect(untrusted.status).not.toBe(0)
      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(0)
    } finally {
      server.child.kill('SIGKILL')
    }
  })
})
