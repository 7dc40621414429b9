/**
 * OpenSSH public keys: parse the one-line form (`ssh-ed25519 AAAA... comment`, `ecdsa-sha2-nistp256 AAAA...`) strictly
 * into the wire blob and a node:crypto key, and make the blob and line of an Ed25519 key (Writ's CAs, an agent's key).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import { WritError } from '@writ/sdk'
import { SshReader, SshWriter } from './ssh-wire.js'

export type SshKeyType = 'ssh-ed25519' | 'ecdsa-sha2-nistp256'

export interface SshPublicKey {
  type: SshKeyType
  /** The wire form (RFC 4253 §6.6), what a certificate embeds and a fingerprint hashes. */
  blob: Buffer
  /** `ssh-ed25519 AAAA...` without a comment: the form stored and compared. */
  line: string
  /** `SHA256:...` as `ssh-keygen -l` prints it. */
  fingerprint: string
}

// A line longer than this is no key Writ takes (an ECDSA P-256 line is about 180 characters).
export const MAX_PUBLIC_KEY_LINE = 1_024

const ED25519_LENGTH = 32
const P256_POINT_LENGTH = 65

/** Parses an OpenSSH public key line; a certificate, another type, trailing data or a bad point is REQUEST_INVALID. */
export function parseSshPublicKey(input: unknown, allowed: readonly SshKeyType[] = ['ssh-ed25519']): SshPublicKey {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_PUBLIC_KEY_LINE) throw invalid('public_key must be an OpenSSH public key line')
  // One line: type, base64, an optional printable comment. A second line or a control character is refused, never
  // silently cut off, so what is stored is exactly what was checked.
  const match = /^(\S+) (\S+)(?: [\x21-\x7e][\x20-\x7e]{0,255})?\n?$/.exec(input)
  const [, type, data] = match ?? []
  if (type === undefined || data === undefined || !(allowed as readonly string[]).includes(type)) {
    throw invalid(`public_key must be one line: one of ${allowed.join(', ')}, the key, an optional comment`)
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw invalid('public_key is not base64')
  const blob = Buffer.from(data, 'base64')
  // Re-encoding must give back the same text: no alternative encodings of one key.
  if (blob.toString('base64') !== data) throw invalid('public_key is not canonical base64')
  try {
    checkKey(blob, type as SshKeyType)
  } catch {
    throw invalid('public_key is not a valid key of its type')
  }
  return describe(type as SshKeyType, blob)
}

/** Throws on a blob that is not a well-formed key of the type; for ECDSA also on a point off the curve. */
function checkKey(blob: Buffer, type: SshKeyType): void {
  const r = new SshReader(blob)
  if (r.text() !== type) throw new RangeError('type mismatch')
  if (type === 'ssh-ed25519') {
    const pk = r.string()
    r.end()
    // Any 32 bytes are an encoding Ed25519 accepts; a bad one only yields a key nobody holds the secret of.
    if (pk.length !== ED25519_LENGTH) throw new RangeError('bad ed25519 key')
    return
  }
  if (r.text() !== 'nistp256') throw new RangeError('bad curve')
  const q = r.string()
  r.end()
  if (q.length !== P256_POINT_LENGTH || q[0] !== 0x04) throw new RangeError('bad point')
  // node:crypto refuses a point that is not on the curve.
  createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: q.subarray(1, 33).toString('base64url'), y: q.subarray(33).toString('base64url') }, format: 'jwk',
  })
}

/** The wire blob of an Ed25519 node:crypto key (public or private). */
export function ed25519Blob(key: KeyObject): Buffer {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' })
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TypeError('not an Ed25519 key')
  return new SshWriter().string('ssh-ed25519').string(Buffer.from(jwk.x, 'base64url')).toBuffer()
}

export function ed25519PublicKey(key: KeyObject): SshPublicKey {
  return describe('ssh-ed25519', ed25519Blob(key))
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

function describe(type: SshKeyType, blob: Buffer): SshPublicKey {
  return { type, blob, line: `${type} ${blob.toString('base64')}`, fingerprint: fingerprintOf(blob) }
}

function invalid(detail: string): WritError {
  return new WritError('REQUEST_INVALID', detail, { reasons: ['public_key_invalid'] })
}
