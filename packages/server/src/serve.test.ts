import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { get as httpsGet } from 'node:https'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { systemClock } from './clock.js'
import { loadConfig } from './config/load.js'
import { LOCK_FILE } from './data-dir-lock.js'
import { selfSignedCertificate } from './http/self-signed.fixture.js'
import { createLogger, type Logger } from './logger.js'
import { SERVER_FILE, startServer } from './serve.js'

const quiet = createLogger('silent', systemClock)
const freshDir = () => mkdtempSync(join(tmpdir(), 'writ-serve-'))
const mode = (file: string) => statSync(file).mode & 0o777
const configFor = (dataDir: string, server: Record<string, unknown> = {}) =>
  loadConfig({ env: {}, flags: { dataDir, server: { port: 0, adminPort: 0, shutdownGraceMs: 1_000, ...server }, log: { level: 'silent' } } })
const capture = (): { logger: Logger; lines: string[] } => {
  const lines: string[] = []
  return { logger: createLogger('info', systemClock, (line) => lines.push(line)), lines }
}

function takePort(): Promise<Server> {
  const server = createServer()
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}
const portOf = (server: Server) => (server.address() as { port: number }).port
const closeServer = (server: Server) => new Promise((resolve) => server.close(resolve))

function httpsJson(url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca, headers }, (response) => {
      let text = ''
      response.on('data', (chunk: Buffer) => { text += chunk.toString() })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as unknown }))
    }).on('error', reject)
  })
}

describe('startServer: the data directory', () => {
  it('creates the directory 0700 and every file it writes there 0600: database, WAL, keys, credential, server.json, lock', async () => {
    const dataDir = join(freshDir(), 'nested', 'data')
    const server = await startServer(configFor(dataDir), systemClock, quiet)
    try {
      expect(mode(dataDir)).toBe(0o700)
      for (const file of ['writ.db', 'writ.db-wal', 'writ.db-shm', 'admin-token', SERVER_FILE, LOCK_FILE, 'keys/signing-keys.json']) {
        expect([file, mode(join(dataDir, file))]).toEqual([file, 0o600])
      }
      expect(mode(join(dataDir, 'keys'))).toBe(0o700)
    } finally {
      await server.close()
    }
  })

  it('tightens a database file left readable by an earlier version', async () => {
    const dataDir = freshDir()
    await (await startServer(configFor(dataDir), systemClock, quiet)).close()
    chmodSync(join(dataDir, 'writ.db'), 0o644)
    const server = await startServer(configFor(dataDir), systemClock, quiet)
    expect(mode(join(dataDir, 'writ.db'))).toBe(0o600)
    await server.close()
  })

  it('warns about an existing directory other users can read, and refuses one they can write', async () => {
    const dataDir = freshDir()
    chmodSync(dataDir, 0o755)
    const { logger, lines } = capture()
    await (await startServer(configFor(dataDir), systemClock, logger)).close()
    expect(lines.join('')).toContain('the data directory is readable by other users')
    expect(mode(dataDir)).toBe(0o755)

    chmodSync(dataDir, 0o777)
    await expect(startServer(configFor(dataDir), systemClock, quiet)).rejects.toMatchObject({ code: 'CONFIG_INVALID', detail: expect.stringContaining('writable by other users') })
  })

  it('refuses a second server on the same directory, naming the pid of the first, and leaves the first intact', async () => {
    const dataDir = freshDir()
    const first = await startServer(configFor(dataDir), systemClock, quiet)
    const serverFile = readFileSync(join(dataDir, SERVER_FILE), 'utf8')
    await expect(startServer(configFor(dataDir), systemClock, quiet)).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED', detail: expect.stringContaining(`pid ${process.pid}`) })
    expect(readFileSync(join(dataDir, SERVER_FILE), 'utf8')).toBe(serverFile)
    await first.close()
    expect(existsSync(join(dataDir, SERVER_FILE))).toBe(false)
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false)
    await (await startServer(configFor(dataDir), systemClock, quiet)).close()
  })

  it('on stopping, leaves a server.json that another instance wrote', async () => {
    const dataDir = freshDir()
    const server = await startServer(configFor(dataDir), systemClock, quiet)
    writeFileSync(join(dataDir, SERVER_FILE), JSON.stringify({ pid: process.ppid }))
    await server.close()
    expect(JSON.parse(readFileSync(join(dataDir, SERVER_FILE), 'utf8'))).toEqual({ pid: process.ppid })
  })
})

describe('startServer: listeners', () => {
  it('fails naming the address and the settings when the admin port is taken, and releases the public port and the lock', async () => {
    const dataDir = freshDir()
    const taken = await takePort()
    const free = await takePort()
    const publicPort = portOf(free)
    await closeServer(free)
    try {
      await expect(startServer(configFor(dataDir, { port: publicPort, adminPort: portOf(taken) }), systemClock, quiet)).rejects.toMatchObject({
        code: 'LISTEN_FAILED',
        detail: `cannot listen on \`127.0.0.1:${portOf(taken)}\` (server.adminHost, server.adminPort): the address is already in use (is another writ server running?)`,
      })
      const again = createServer()
      await new Promise<void>((resolve, reject) => { again.once('error', reject); again.listen(publicPort, '127.0.0.1', resolve) })
      await closeServer(again)
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false)
    } finally {
      await closeServer(taken)
    }
  })

  it('serves both APIs over HTTPS when a certificate and key are configured, and says https everywhere', async () => {
    const dataDir = freshDir()
    const certificate = selfSignedCertificate(freshDir())
    const { logger, lines } = capture()
    const server = await startServer(configFor(dataDir, { tls: { certFile: certificate.certFile, keyFile: certificate.keyFile } }), systemClock, logger)
    try {
      expect(server.publicUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      expect(server.adminUrl).toMatch(/^https:\/\//)
      expect(JSON.parse(readFileSync(join(dataDir, SERVER_FILE), 'utf8'))).toMatchObject({ public_url: server.publicUrl, admin_url: server.adminUrl, issuer: server.publicUrl })
      expect(lines.join('')).toContain(`"public_url":"${server.publicUrl}"`)
      const metadata = await httpsJson(`${server.publicUrl}/.well-known/oauth-authorization-server`, certificate.ca)
      expect(metadata).toMatchObject({ status: 200, body: { issuer: server.publicUrl, token_endpoint: `${server.publicUrl}/oauth/token` } })
      const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
      expect(await httpsJson(`${server.adminUrl}/v1/agents`, certificate.ca, { authorization: `Bearer ${token}` })).toMatchObject({ status: 200 })
      // Without the CA the client refuses the certificate: the listener is really TLS, and really this certificate.
      await expect(httpsJson(`${server.publicUrl}/.well-known/oauth-authorization-server`, Buffer.from(''))).rejects.toThrow()
    } finally {
      await server.close()
    }
  })

  it.each([
    ['a missing certificate', (c: { certFile: string; keyFile: string }) => ({ certFile: `${c.certFile}.missing`, keyFile: c.keyFile }), /server\.tls\.certFile: cannot read `.*cert\.pem\.missing`: does not exist/],
    ['a key that is not PEM', (c: { certFile: string; keyFile: string }) => ({ certFile: c.certFile, keyFile: c.certFile }), /server\.tls: .* are not a usable certificate and key/],
  ])('refuses to start with %s, naming the setting', async (_name, tls, message) => {
    const certificate = selfSignedCertificate(freshDir())
    const dataDir = freshDir()
    await expect(startServer(configFor(dataDir, { tls: tls(certificate) }), systemClock, quiet)).rejects.toMatchObject({ code: 'CONFIG_INVALID', detail: expect.stringMatching(message) })
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false)
  })
})
