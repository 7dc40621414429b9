import { execFileSync, spawnSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeOpenSshPrivateKey } from './openssh-private-key.js'
import { signCertificate } from './ssh-certificate.js'
import { encodeKrl } from './ssh-krl.js'
import { ed25519PublicKey, parseSshPublicKey } from './ssh-public-key.js'
import { SshReader, SshWriter } from './ssh-wire.js'

const dir = mkdtempSync(join(tmpdir(), 'writ-ssh-formats-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name)
  writeFileSync(path, content, { mode: 0o600 })
  return path
}

describe('the SSH wire encoding', () => {
  it('round-trips and refuses truncated input and trailing bytes', () => {
    const bytes = new SshWriter().byte(7).uint32(0xfffffffe).uint64(2n ** 64n - 1n).string('ssh').toBuffer()
    const r = new SshReader(bytes)
    expect([r.byte(), r.uint32(), r.uint64(), r.text()]).toEqual([7, 0xfffffffe, 2n ** 64n - 1n, 'ssh'])
    r.end()
    expect(() => new SshReader(Buffer.from([0, 0, 0, 9, 1])).string()).toThrow('truncated')
    expect(() => new SshReader(Buffer.from([1])).end()).toThrow('trailing')
  })
})

describe('OpenSSH keys and certificates as ssh-keygen reads them', () => {
  const ca = generateKeyPairSync('ed25519').privateKey

  it('writes an Ed25519 private key that ssh-keygen -y reads back to the same public key', () => {
    const key = generateKeyPairSync('ed25519').privateKey
    const path = file('id_ed25519', encodeOpenSshPrivateKey(key, 'writ'))
    expect(execFileSync('ssh-keygen', ['-y', '-f', path]).toString().trim()).toBe(`${ed25519PublicKey(key).line} writ`)
  })

  it('parses ssh-keygen\'s own key lines (ed25519, and ECDSA P-256 for hosts) with the fingerprint ssh-keygen prints', () => {
    for (const [type, extra] of [['ed25519', []], ['ecdsa', ['-b', '256']]] as const) {
      const path = join(dir, `k-${type}`)
      execFileSync('ssh-keygen', ['-q', '-t', type, ...extra, '-N', '', '-C', 'c', '-f', path])
      const line = execFileSync('cat', [`${path}.pub`]).toString()
      const parsed = parseSshPublicKey(line, ['ssh-ed25519', 'ecdsa-sha2-nistp256'])
      expect(execFileSync('ssh-keygen', ['-l', '-f', `${path}.pub`]).toString()).toContain(parsed.fingerprint)
      expect(line.startsWith(parsed.line)).toBe(true)
    }
    // A P-256 point off the curve is refused.
    const bad = new SshWriter().string('ecdsa-sha2-nistp256').string('nistp256').string(Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)])).toBuffer()
    expect(() => parseSshPublicKey(`ecdsa-sha2-nistp256 ${bad.toString('base64')}`, ['ecdsa-sha2-nistp256'])).toThrow()
  })

  it('refuses serial 0 and an empty validity window', async () => {
    const publicKey = ed25519PublicKey(generateKeyPairSync('ed25519').privateKey)
    const base = { kind: 'user' as const, publicKey, keyId: 'k', principals: ['a@b'], validAfter: 10, validBefore: 20 }
    await expect(signCertificate({ ...base, serial: 0n }, ca)).rejects.toThrow(TypeError)
    await expect(signCertificate({ ...base, serial: 1n, validBefore: 10 }, ca)).rejects.toThrow(TypeError)
  })

  it('encodes a KRL that ssh-keygen lists and checks, the same set always to the same bytes', async () => {
    const userCa = ed25519PublicKey(ca)
    const hostCaKey = generateKeyPairSync('ed25519').privateKey
    const cert = async (serial: bigint, keyId: string, key = ca) => (await signCertificate({
      kind: 'user', publicKey: ed25519PublicKey(generateKeyPairSync('ed25519').privateKey), serial, keyId, principals: ['deploy@web-1'],
      validAfter: Math.floor(Date.now() / 1000) - 30, validBefore: Math.floor(Date.now() / 1000) + 300,
    }, key)).line
    const bySerial = file('s-cert.pub', `${await cert(42n, 'writ:a')}\n`)
    const byKeyId = file('k-cert.pub', `${await cert(43n, 'writ:revoked-id')}\n`)
    const fine = file('f-cert.pub', `${await cert(44n, 'writ:fine')}\n`)
    const otherCa = file('o-cert.pub', `${await cert(42n, 'writ:other', hostCaKey)}\n`)
    const contents = (serials: bigint[]) => ({
      version: 3n, generatedAt: 1_800_000_000, comment: 'writ',
      sections: [{ ca: userCa.blob, serials, keyIds: ['writ:revoked-id'] }, { ca: ed25519PublicKey(hostCaKey).blob, serials: [], keyIds: [] }],
    })
    const krl = encodeKrl(contents([99n, 42n]))
    expect(encodeKrl(contents([42n, 99n])).equals(krl)).toBe(true)
    const path = file('revoked.krl', krl)
    const query = (cert: string) => spawnSync('ssh-keygen', ['-Q', '-f', path, cert]).stdout.toString()
    expect(query(bySerial)).toContain('REVOKED')
    expect(query(byKeyId)).toContain('REVOKED')
    expect(query(fine)).toContain(': ok')
    // Serial 42 of another CA is another certificate.
    expect(query(otherCa)).toContain(': ok')
    expect(execFileSync('ssh-keygen', ['-Q', '-l', '-f', path]).toString()).toMatch(/KRL version 3[\s\S]*serial: 42[\s\S]*serial: 99/)
    const empty = file('empty.krl', encodeKrl({ version: 1n, generatedAt: 1, comment: '', sections: [{ ca: userCa.blob, serials: [], keyIds: [] }] }))
    expect(spawnSync('ssh-keygen', ['-Q', '-f', empty, fine]).status).toBe(0)
  })
})
