import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import pg from 'pg'
import { runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

const TEST_DATABASE_URL = process.env.WRIT_TEST_DATABASE_URL
if (!TEST_DATABASE_URL) {
  if (process.env.CI) throw new Error('WRIT_TEST_DATABASE_URL is not set; refusing to skip PostgreSQL tests in CI')
  process.stderr.write('\n*** WRIT_TEST_DATABASE_URL is not set: PostgreSQL tests are SKIPPED (CI sets it; see .ci/run) ***\n')
}

/** A database of its own for one test, dropped afterwards (as the server's storage fixture does). */
async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `writ_test_${Math.random().toString(16).slice(2, 14)}`
  const admin = async (query: string) => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
    await client.connect()
    await client.query(query)
    await client.end()
  }
  await admin(`create database ${name}`)
  const url = new URL(TEST_DATABASE_URL as string)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) }
}

describe('the storage recorded in the data directory (storage.json)', () => {
  const cleanup: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step()
    cleanup.length = 0
  })
  const started = async (settings: Record<string, unknown>): Promise<TestServer> => {
    const t = await startTestServer(settings)
    cleanup.push(() => t.remove())
    await t.stop()
    return t
  }

  it('sqlite: records the file, 0600, and audit verify --offline finds it without any configuration', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'writ-cli-db-'))
    cleanup.push(() => rmSync(elsewhere, { recursive: true, force: true }))
    const t = await started({ storage: { sqlitePath: join(elsewhere, 'custom.db') } })
    const file = join(t.dataDir, 'storage.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ driver: 'sqlite', sqlite_path: join(elsewhere, 'custom.db') })

    const result = await runWrit(['--data-dir', t.dataDir, 'audit', 'verify', '--offline'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`audit chain OK (offline, ${join(elsewhere, 'custom.db')})`)
  })

  it.skipIf(!TEST_DATABASE_URL)('postgres: records the URL without its password, and audit verify --offline connects with it', async () => {
    const database = await createDatabase()
    cleanup.push(() => database.drop())
    // The test server trusts local connections, so it ignores the password; what matters is that none is written down.
    const withPassword = new URL(database.url)
    withPassword.password = 'hunter2'
    const t = await started({ storage: { driver: 'postgres', url: withPassword.toString() } })
    const text = readFileSync(join(t.dataDir, 'storage.json'), 'utf8')
    expect(text).not.toContain('hunter2')
    expect(statSync(join(t.dataDir, 'storage.json')).mode & 0o777).toBe(0o600)
    expect(JSON.parse(text)).toEqual({ driver: 'postgres', url: database.url, url_had_password: true })

    const result = await runWrit(['--data-dir', t.dataDir, 'audit', 'verify', '--offline', '--json'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true })
  })

  it('postgres: when the recorded URL needs the password it lacks, the error says what to set', async () => {
    // A PostgreSQL peer that refuses the login as a password-protected server does (ErrorResponse, SQLSTATE 28P01):
    // the local test server trusts every connection, so it cannot play this part.
    const server = createServer((socket) => {
      socket.once('data', () => {
        const fields = Buffer.from('SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "writ"\0\0')
        const header = Buffer.alloc(5)
        header.write('E')
        header.writeInt32BE(fields.length + 4, 1)
        socket.end(Buffer.concat([header, fields]))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const dataDir = mkdtempSync(join(tmpdir(), 'writ-cli-test-'))
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }))
    const url = `postgres://writ@127.0.0.1:${(server.address() as AddressInfo).port}/writ`
    writeFileSync(join(dataDir, 'storage.json'), JSON.stringify({ driver: 'postgres', url, url_had_password: true }))

    const result = await runWrit(['--data-dir', dataDir, 'audit', 'verify', '--offline'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`(\`${url}\`) needs its password, which is never recorded: set WRIT_STORAGE__URL to the full URL, or pass --config <file>`)
    expect(result.stderr).toContain('STORAGE_UNAVAILABLE')
  })
})
