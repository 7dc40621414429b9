import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from './load.js'
import { redactConfig } from './redact.js'

const yamlFile = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'writ-config-')), 'writ.yaml')
  writeFileSync(file, text)
  return file
}

describe('loadConfig', () => {
  it('has secure defaults: loopback admin, SQLite, Ed25519, 5-minute tokens', () => {
    const config = loadConfig()
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080, adminHost: '127.0.0.1', adminPort: 8081 })
    expect(config.storage.driver).toBe('sqlite')
    expect(config.keys.algorithm).toBe('EdDSA')
    expect(config.tokens.ttlSeconds).toBe(300)
  })

  it('applies file, then WRIT_* environment, then flags', () => {
    const file = yamlFile('server:\n  port: 9000\n  adminPort: 9001\ntokens:\n  ttlSeconds: 120\n')
    const config = loadConfig({ file, env: { WRIT_SERVER__PORT: '9100', WRIT_DATA_DIR: '/tmp/w' }, flags: { server: { adminPort: 9200 } } })
    expect(config.server.port).toBe(9100)
    expect(config.server.adminPort).toBe(9200)
    expect(config.tokens.ttlSeconds).toBe(120)
    expect(config.dataDir).toBe('/tmp/w')
  })

  it('lists every problem with its key path and refuses unknown keys', () => {
    const file = yamlFile('server:\n  port: "high"\n  colour: red\ntokens:\n  ttlSeconds: 3600\n')
    try {
      loadConfig({ file, env: { WRIT_STORAGE__DRIVER: 'mongo' } })
      expect.unreachable()
    } catch (error) {
      const reasons = (error as { reasons: string[] }).reasons.join('\n')
      expect((error as { code: string }).code).toBe('CONFIG_INVALID')
      expect(reasons).toContain('server.port')
      expect(reasons).toContain('server')
      expect(reasons).toContain('colour')
      expect(reasons).toContain('tokens.ttlSeconds')
      expect(reasons).toContain('storage.driver')
    }
  })

  it('refuses capability token lifetimes over 15 minutes', () => {
    expect(() => loadConfig({ flags: { tokens: { ttlSeconds: 901 } } })).toThrow(/tokens.ttlSeconds/)
  })

  it('redacts secrets when printed, and never defaults them', () => {
    const config = loadConfig({ flags: { storage: { driver: 'postgres', url: 'postgres://u:pw@h/db' }, keys: { encryptionKey: 'c2VjcmV0' } } })
    const printed = JSON.stringify(redactConfig(config))
    expect(printed).not.toContain('pw@h')
    expect(printed).not.toContain('c2VjcmV0')
    expect(loadConfig().keys.encryptionKey).toBeUndefined()
  })

  it('reports an unreadable or invalid YAML file', () => {
    expect(() => loadConfig({ file: '/nonexistent/writ.yaml' })).toThrow(/cannot read/)
    expect(() => loadConfig({ file: yamlFile('a: [') })).toThrow(/not valid YAML/)
  })
})
