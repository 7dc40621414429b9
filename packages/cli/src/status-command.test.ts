import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerStatus } from '@writ/server'
import { runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

const SERVER_VERSION = (JSON.parse(readFileSync(new URL('../../server/package.json', import.meta.url), 'utf8')) as { version: string }).version

describe('writ status', () => {
  let t: TestServer
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])
  beforeAll(async () => { t = await startTestServer() })
  afterAll(async () => {
    await t.stop()
    t.remove()
  })

  it('shows version, storage, audit head, self-check, issuance, signing key and policy set', async () => {
    const result = await writ('status')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const { current } = JSON.parse((await writ('keys', 'list', '--json')).stdout) as { current: string }
    const lines = result.stdout.split('\n')
    expect(lines[0]).toBe(`server       reachable at ${t.server.adminUrl}, writ ${SERVER_VERSION}`)
    expect(lines).toContain('storage      sqlite')
    expect(lines.find((l) => l.startsWith('audit head'))).toMatch(/^audit head {3}seq \d+, hash [0-9a-f]{16}…$/)
    expect(lines.find((l) => l.startsWith('self-check'))).toMatch(/^self-check {3}ok, verified through seq \d+, \d+ s ago$/)
    expect(lines).toContain('issuance     open')
    expect(lines.find((l) => l.startsWith('signing key'))).toMatch(new RegExp(`^signing key  ${current} \\(EdDSA\\), \\d+ s old$`))
    expect(lines.find((l) => l.startsWith('policy set'))).toMatch(/^policy set {3}version 1, since \d{4}-/)
  })

  it('--json gives the same as the admin API, with reachable and the address', async () => {
    const result = await writ('status', '--json')
    expect(result.code).toBe(0)
    const status = JSON.parse(result.stdout) as ServerStatus & { reachable: boolean; admin_url: string }
    const head = await t.server.app.storage.audit.head()
    expect(status).toMatchObject({
      reachable: true, admin_url: t.server.adminUrl, version: SERVER_VERSION, storage: { driver: 'sqlite' },
      audit: { head: { seq: head.seq, hash: head.hash }, issuance: 'open', self_check: { state: 'ok' } },
      signing_key: { kid: t.server.app.keys.current().kid, alg: 'EdDSA' }, policy: { version: 1 },
    })
  })

  it('exits 1 and names the record once the self-check finds the chain broken', async () => {
    const head = await t.server.app.storage.audit.head()
    const db = new Database(join(t.dataDir, 'writ.db'))
    const row = db.prepare('select record from audit_events where seq = ?').get(head.seq) as { record: string }
    db.prepare('update audit_events set record = ? where seq = ?').run(row.record.replace('"actor":{', '"actor":{"x":1,'), head.seq)
    db.close()
    await t.server.app.selfCheck.check()

    const result = await writ('status')
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`self-check   BROKEN at seq ${head.seq}: hash does not match the record content (found `)
    expect(result.stdout).toContain('issuance     HALTED: token requests get 503 AUDIT_CHAIN_BROKEN')
    expect(result.stderr).toContain(`the server found its audit chain broken at seq ${head.seq}`)
    expect(result.stderr).toContain('[AUDIT_CHAIN_BROKEN]')
    const json = await writ('status', '--json')
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ audit: { issuance: 'halted', self_check: { state: 'broken', first_bad: { seq: head.seq } } } })
  })
})

describe('writ status without a server', () => {
  it('exits 1 and says no server runs in the data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'writ-cli-test-'))
    try {
      const result = await runWrit(['--data-dir', dataDir, 'status'])
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(`no running server found in \`${dataDir}\``)
      const json = await runWrit(['--data-dir', dataDir, 'status', '--json'])
      expect(json.code).toBe(1)
      expect(JSON.parse(json.stdout)).toMatchObject({ reachable: false, admin_url: null, error: { code: 'SERVER_UNAVAILABLE' } })
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('exits 1 with reachable false when nothing answers at the admin address', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const adminUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    await new Promise((resolve) => server.close(resolve))
    const result = await runWrit(['--admin-url', adminUrl, '--admin-token', 'writ_admin_x_y', 'status', '--json'])
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout)).toMatchObject({ reachable: false, admin_url: adminUrl, error: { code: 'SERVER_UNAVAILABLE' } })
  })
})
