import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { adminClientFor, locateServer } from './server-locator.js'

describe('locateServer', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'writ-locator-'))
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ public_url: 'http://127.0.0.1:1', admin_url: 'http://127.0.0.1:2', pid: process.pid }))
    writeFileSync(join(dir, 'admin-token'), 'from-file\n')
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('reads server.json and admin-token from the data directory', () => {
    expect(locateServer({ dataDir: dir }, {})).toMatchObject({ publicUrl: 'http://127.0.0.1:1', adminUrl: 'http://127.0.0.1:2', adminToken: 'from-file', adminSource: 'server.json' })
  })

  it('takes WRIT_DATA_DIR when no flag names the data directory', () => {
    expect(locateServer({}, { WRIT_DATA_DIR: dir }).adminUrl).toBe('http://127.0.0.1:2')
  })

  it('prefers environment variables over the data directory, and flags over both', () => {
    const env = { WRIT_URL: 'http://127.0.0.1:3', WRIT_ADMIN_URL: 'http://127.0.0.1:4', WRIT_ADMIN_TOKEN: 'from-env' }
    expect(locateServer({ dataDir: dir }, env)).toMatchObject({ publicUrl: 'http://127.0.0.1:3', adminUrl: 'http://127.0.0.1:4', adminToken: 'from-env', adminSource: 'env' })
    expect(locateServer({ dataDir: dir, url: 'http://127.0.0.1:5', adminUrl: 'http://127.0.0.1:6', adminToken: 'from-flag' }, env))
      .toMatchObject({ publicUrl: 'http://127.0.0.1:5', adminUrl: 'http://127.0.0.1:6', adminToken: 'from-flag', adminSource: 'flag' })
  })

  it('never sends the local credential file to a remote admin address', () => {
    expect(locateServer({ dataDir: dir }, { WRIT_ADMIN_URL: 'https://writ.example.com' }).adminToken).toBeUndefined()
    expect(locateServer({ dataDir: dir }, { WRIT_ADMIN_URL: 'http://localhost:9' }).adminToken).toBe('from-file')
  })

  it('ignores a server.json left behind by a process that no longer runs', () => {
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ public_url: 'http://127.0.0.1:1', admin_url: 'http://127.0.0.1:2', pid: 2 ** 22 + 1 }))
    const location = locateServer({ dataDir: dir }, {})
    expect(location.adminUrl).toBeUndefined()
    expect(() => adminClientFor(location)).toThrow(`no running server found in \`${dir}\``)
  })
})
