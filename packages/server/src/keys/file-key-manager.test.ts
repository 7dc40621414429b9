import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { fixedClock } from '../clock.js'
import { FileKeyManager } from './file-key-manager.js'

const dir = () => mkdtempSync(join(tmpdir(), 'writ-keys-'))

describe('FileKeyManager', () => {
  it('generates an Ed25519 key on first start, in a 0600 file, and loads the same key again', async () => {
    const file = join(dir(), 'keys', 'signing-keys.json')
    const clock = fixedClock(1_000_000)
    const first = await FileKeyManager.open({ file, algorithm: 'EdDSA', clock })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const second = await FileKeyManager.open({ file, algorithm: 'EdDSA', clock })
    expect(second.current().kid).toBe(first.current().kid)
    expect(first.jwks().keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
    expect(first.jwks().keys[0]).not.toHaveProperty('d')
  })

  it('signs tokens that jose verifies with the published key set', async () => {
    const clock = fixedClock(Date.UTC(2026, 0, 1))
    const keys = await FileKeyManager.open({ file: undefined, algorithm: 'EdDSA', clock })
    const { jws, kid } = keys.sign('at+jwt', { iss: 'i', sub: 's', exp: clock.nowSeconds() + 60 })
    const token = await jws
    expect(kid).toBe(keys.current().kid)
    const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(keys.jwks()), { typ: 'at+jwt', currentDate: new Date(clock.nowMs()) })
    expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: keys.current().kid })
  })

  it('keeps a rotated-out key published until its tokens have expired, then drops it', async () => {
    const clock = fixedClock(Date.UTC(2026, 0, 1))
    const keys = await FileKeyManager.open({ file: undefined, algorithm: 'EdDSA', clock })
    const old = keys.current().kid
    const token = await keys.sign('at+jwt', { exp: clock.nowSeconds() + 900 }).jws
    await keys.rotate()
    expect(keys.current().kid).not.toBe(old)
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([old, keys.current().kid])
    await jwtVerify(token, createLocalJWKSet(keys.jwks()), { currentDate: new Date(clock.nowMs()) })
    clock.advance(961_000)
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([keys.current().kid])
  })

  it('encrypts the keyset at rest when a key-encryption key is configured, and refuses to start without it', async () => {
    const file = join(dir(), 'signing-keys.json')
    const encryptionKey = randomBytes(32).toString('base64')
    const clock = fixedClock(1_000_000)
    const keys = await FileKeyManager.open({ file, algorithm: 'ES256', encryptionKey, clock })
    const text = readFileSync(file, 'utf8')
    expect(text).toContain('"encrypted"')
    expect(text).not.toContain('"d"')
    expect((await FileKeyManager.open({ file, algorithm: 'ES256', encryptionKey, clock })).current().kid).toBe(keys.current().kid)
    await expect(FileKeyManager.open({ file, algorithm: 'ES256', clock })).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    await expect(FileKeyManager.open({ file, algorithm: 'ES256', encryptionKey: randomBytes(32).toString('base64'), clock })).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
  })
})

describe('FileKeyManager.revoke', () => {
  it('withdraws a key from the JWKS at once, keeps it withdrawn across a restart, and never signs with it', async () => {
    const file = join(dir(), 'signing-keys.json')
    const clock = fixedClock(Date.UTC(2026, 0, 1))
    const keys = await FileKeyManager.open({ file, algorithm: 'EdDSA', clock })
    const old = keys.current().kid
    expect(() => keys.revoke(old)).toThrow(TypeError)
    await keys.rotate()
    expect(keys.revoke(old)).toBe(true)
    expect(keys.revoke(old)).toBe(false)
    expect(keys.revoke('unknown')).toBe(false)
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([keys.current().kid])
    expect(keys.list().find((k) => k.kid === old)).toMatchObject({ revokedAt: clock.nowMs() })
    expect(keys.sign('at+jwt', {}).kid).toBe(keys.current().kid)
    const reopened = await FileKeyManager.open({ file, algorithm: 'EdDSA', clock })
    expect(reopened.jwks().keys.map((k) => k.kid)).toEqual([keys.current().kid])
  })
})
