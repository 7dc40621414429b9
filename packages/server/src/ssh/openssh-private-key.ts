/**
 * An Ed25519 private key in OpenSSH's own file format (PROTOCOL.key, `-----BEGIN OPENSSH PRIVATE KEY-----`,
 * unencrypted), which every ssh client reads: what `writ ssh cert` writes for the key pair it makes with node:crypto.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto'
import { ed25519Blob } from './ssh-public-key.js'
import { SshWriter } from './ssh-wire.js'

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1')

export function encodeOpenSshPrivateKey(privateKey: KeyObject, comment = ''): string {
  const jwk = privateKey.export({ format: 'jwk' })
  if (jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string') throw new TypeError('not an Ed25519 private key')
  const seed = Buffer.from(jwk.d, 'base64url')
  const pub = Buffer.from(jwk.x, 'base64url')
  const check = randomBytes(4)
  const section = new SshWriter().raw(check).raw(check)
    .string('ssh-ed25519').string(pub).string(Buffer.concat([seed, pub])).string(comment).toBuffer()
  // Padded with 1, 2, 3, ... to the cipher block size (8 for "none").
  const padding = Buffer.from(Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1))
  const body = Buffer.concat([MAGIC, new SshWriter()
    .string('none').string('none').string(Buffer.alloc(0)).uint32(1)
    .string(ed25519Blob(createPublicKey(privateKey)))
    .string(Buffer.concat([section, padding])).toBuffer()])
  const lines = body.toString('base64').match(/.{1,70}/g) ?? []
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`
}
