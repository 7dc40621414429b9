import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fileErrorReason } from './file-error.js'
import { loadConfig } from './load.js'
import { redactConfig } from './redact.js'

const yamlFile = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'writ-config-')), 'writ.yaml')
  writeFileSync(file, text)
  return file
}

const reasonsOf = (load: () => unknown): string[] => {
  try {
    load()
  } catch (error) {
    expect((error as { code?: string }).code).toBe('CONFIG_INVALID')
    return (error as { reasons: string[] }).reasons
  }
  throw new Error('the configuration loaded')
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
      expect(reasons).toContain('server.colour')
      expect(reasons).toContain('tokens.ttlSeconds')
      expect(reasons).toContain('WRIT_STORAGE__DRIVER')
    }
  })

  // Each problem is named by what the operator wrote: the variable, the file and key, the flag, or the file's line.
  it.each([
    ['a number variable that is not one', { env: { WRIT_SERVER__PORT: 'high' } }, 'WRIT_SERVER__PORT: expected a number'],
    ['a boolean variable that is not one', { env: { WRIT_STORAGE__SQLITE_THREADS: 'yes' } }, 'WRIT_STORAGE__SQLITE_THREADS: expected a boolean'],
    ['a variable out of range', { env: { WRIT_TOKENS__TTL_SECONDS: '3600' } }, 'WRIT_TOKENS__TTL_SECONDS: too big: expected number to be <=900'],
    ['a variable naming no setting', { env: { WRIT_SERVER__COLOUR: 'red' } }, 'WRIT_SERVER__COLOUR: unknown setting'],
    ['a malformed variable name', { env: { WRIT_SERVER____PORT: '1' } }, 'WRIT_SERVER____PORT: not a valid setting name (WRIT_SECTION__SETTING, such as WRIT_SERVER__PORT)'],
    ['a variable replacing a section', { env: { WRIT_SERVER: '1' } }, 'WRIT_SERVER: expected an object'],
    ['a key of the file', { yaml: 'server:\n  port: high\n' }, '<file>: server.port: invalid input: expected number, received string'],
    ['an unknown key of the file', { yaml: 'server:\n  colour: red\n' }, '<file>: server.colour: unknown setting'],
    ['an enumerated key of the file', { yaml: 'log:\n  level: loud\n' }, '<file>: log.level: invalid option: expected one of "debug"|"info"|"warn"|"error"|"silent"'],
    ['a file that is not a mapping', { yaml: '- a\n- b\n' }, '<file>: the configuration file must hold a mapping of settings (such as `server:`)'],
    ['a duplicate key', { yaml: 'server:\n  port: 1\n  port: 2\n' }, '<file>:3:3: map keys must be unique: `  port: 2`'],
    ['a syntax error on a line holding a secret', { yaml: 'keys:\n  encryptionKey: c2VjcmV0\n  encryptionKey: c2VjcmV0\n' }, '<file>:3:3: map keys must be unique: `  encryptionKey: [redacted]`'],
    ['a bad indentation', { yaml: 'server:\n  port: 1\n adminPort: 2\n' }, '<file>:3:1: all mapping items must start at the same column: ` adminPort: 2`'],
    ['a flag', { flags: { server: { port: -1 } } }, 'command line: server.port: too small: expected number to be >=0'],
    ['half of the TLS pair, from a variable', { env: { WRIT_SERVER__TLS__CERT_FILE: '/etc/writ/cert.pem' } }, 'WRIT_SERVER__TLS__CERT_FILE: server.tls.keyFile is missing: set both, or neither'],
    ['half of the TLS pair, from the file', { yaml: 'server:\n  tls:\n    keyFile: key.pem\n' }, '<file>: server.tls.keyFile: server.tls.certFile is missing: set both, or neither'],
    ['a setting no source gave', { flags: { oversight: { webhookUrl: 'https://hooks.example/writ' } } }, 'oversight.webhookSecret: required when oversight.webhookUrl is set'],
  ])('names the source of %s', (_name, source: { env?: Record<string, string>; yaml?: string; flags?: Record<string, unknown> }, expected) => {
    const file = source.yaml === undefined ? undefined : yamlFile(source.yaml)
    const reasons = reasonsOf(() => loadConfig({ ...(file ? { file } : {}), env: source.env ?? {}, flags: source.flags ?? {} }))
    expect(reasons.some((reason) => reason.startsWith(expected.replace('<file>', file ?? '')))).toBe(true)
  })

  it('names the later source when two give the same setting', () => {
    const file = yamlFile('server:\n  port: high\n')
    expect(reasonsOf(() => loadConfig({ file, env: { WRIT_SERVER__PORT: 'low' } }))).toEqual(['WRIT_SERVER__PORT: expected a number'])
    expect(reasonsOf(() => loadConfig({ file, env: {}, flags: { server: { port: 'x' } } }))).toEqual(['command line: server.port: invalid input: expected number, received string'])
  })

  it.each([
    ['a file that does not exist', () => '/nonexistent/writ.yaml', '/nonexistent/writ.yaml: cannot read the configuration file: does not exist'],
    ['a directory', () => mkdtempSync(join(tmpdir(), 'writ-config-')), ': cannot read the configuration file: is a directory, not a file'],
  ])('says which file cannot be read and why: %s', (_name, make, expected) => {
    const file = make()
    expect(reasonsOf(() => loadConfig({ file }))).toEqual([expected.startsWith(':') ? `${file}${expected}` : expected])
  })

  // The same words for a file the tests cannot make unreadable (they may run as root, who reads any file).
  it.each([
    ['ENOENT', 'does not exist'], ['EACCES', 'permission denied'], ['EPERM', 'permission denied'],
    ['EISDIR', 'is a directory, not a file'], ['ENOTDIR', 'a part of the path is not a directory'], ['EIO', 'EIO'],
  ])('describes %s as "%s"', (code, words) => {
    expect(fileErrorReason(Object.assign(new Error('x'), { code }))).toBe(words)
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
})
