import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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

  describe('with a login profile', () => {
    let config: string
    let cwd: string
    const profile = { admin_url: 'https://writ-admin.example.com', public_url: 'https://writ.example.com', admin_token: 'from-profile' }
    beforeEach(() => {
      config = join(dir, 'config')
      mkdirSync(config)
      writeFileSync(join(config, 'profile.json'), JSON.stringify(profile))
      // The default data directory is ./.writ: make it this test's, so a developer's own server cannot interfere.
      cwd = process.cwd()
      mkdirSync(join(dir, 'cwd', '.writ'), { recursive: true })
      writeFileSync(join(dir, 'cwd', '.writ', 'server.json'), JSON.stringify({ public_url: 'http://127.0.0.1:1', admin_url: 'http://127.0.0.1:2', pid: process.pid }))
      process.chdir(join(dir, 'cwd'))
    })
    afterEach(() => process.chdir(cwd))

    it('ranks the profile above the default data directory, and names it as the source', () => {
      expect(locateServer({}, { WRIT_CONFIG_DIR: config })).toMatchObject({
        adminUrl: profile.admin_url, publicUrl: profile.public_url, adminToken: 'from-profile', adminSource: 'profile',
        sources: { adminUrl: `the profile in \`${join(config, 'profile.json')}\``, adminToken: `the profile in \`${join(config, 'profile.json')}\`` },
      })
      expect(locateServer({}, {}).adminUrl).toBe('http://127.0.0.1:2')
    })

    it('ranks flags and WRIT_* variables above the profile', () => {
      expect(locateServer({ adminToken: 'from-flag' }, { WRIT_CONFIG_DIR: config })).toMatchObject({ adminToken: 'from-flag', sources: { adminToken: '--admin-token' } })
      expect(locateServer({}, { WRIT_CONFIG_DIR: config, WRIT_URL: 'https://other.example.com' })).toMatchObject({ publicUrl: 'https://other.example.com', sources: { publicUrl: 'WRIT_URL' } })
    })

    it('never sends the profile\'s credential to another server', () => {
      expect(locateServer({}, { WRIT_CONFIG_DIR: config, WRIT_ADMIN_URL: 'https://evil.example.com' }).adminToken).toBeUndefined()
      expect(locateServer({ adminUrl: 'https://writ-admin.example.com/' }, { WRIT_CONFIG_DIR: config }).adminToken).toBe('from-profile')
    })

    it('is bypassed when a data directory is named', () => {
      expect(locateServer({ dataDir: dir }, { WRIT_CONFIG_DIR: config })).toMatchObject({ adminUrl: 'http://127.0.0.1:2', adminToken: 'from-file', adminSource: 'server.json' })
      expect(locateServer({}, { WRIT_CONFIG_DIR: config, WRIT_DATA_DIR: dir }).adminSource).toBe('server.json')
    })

    it('is found under XDG_CONFIG_HOME, then HOME, and never without either', () => {
      mkdirSync(join(dir, 'xdg', 'writ'), { recursive: true })
      writeFileSync(join(dir, 'xdg', 'writ', 'profile.json'), JSON.stringify(profile))
      expect(locateServer({}, { XDG_CONFIG_HOME: join(dir, 'xdg') }).adminSource).toBe('profile')
      mkdirSync(join(dir, 'home', '.config', 'writ'), { recursive: true })
      writeFileSync(join(dir, 'home', '.config', 'writ', 'profile.json'), JSON.stringify(profile))
      expect(locateServer({}, { HOME: join(dir, 'home') }).sources.adminUrl).toBe('the profile in `~/.config/writ/profile.json`')
      expect(locateServer({}, {}).adminSource).toBe('server.json')
    })

    it('refuses a damaged profile instead of quietly using another server', () => {
      writeFileSync(join(config, 'profile.json'), '{"admin_url": "https://writ-admin.example.com"')
      expect(() => locateServer({}, { WRIT_CONFIG_DIR: config })).toThrow('is damaged; run `writ login` again or `writ logout`')
    })
  })
})
