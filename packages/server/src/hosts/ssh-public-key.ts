/**
 * Strict parsing of an OpenSSH public key line (`ssh-ed25519 AAAA... [comment]`): the wire encoding of RFC 4253 §6.6,
 * RFC 8709 (Ed25519) and RFC 5656 (ECDSA P-256). Only these two types; the key must be a valid point, the base64 canonical.
 */
import { createHash, createPublicKey } from 'node:crypto'

export const SSH_HOST_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256'] as const
export type SshHostKeyType = (typeof SSH_HOST_KEY_TYPES)[number]

export interface SshPublicKey {
  type: SshHostKeyType
  /** The key blob (the base64 part, decoded). */
  blob: Buffer
  /** `<type> <base64>`: the form stored and compared (the comment is dropped). */
  line: string
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints it. */
  fingerprint: string
}

const MAX_LINE = 1_024

/** The parsed key, or a reason it is not one (safe to show: it never echoes the input). */
export function parseSshPublicKey(input: unknown): SshPublicKey | { problem: string } {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_LINE) return { problem: 'not an OpenSSH public key line' }
  const match = /^(ssh-ed25519|ecdsa-sha2-nistp256) ([A-Za-z0-9+/]+={0,2})(?: [\x21-\x7e][\x20-\x7e]{0,255})?\n?$/.exec(input)
  if (match === null) return { problem: 'expected `ssh-ed25519 <base64>` or `ecdsa-sha2-nistp256 <base64>`' }
  const type = match[1] as SshHostKeyType
  const base64 = match[2] as string
  const blob = Buffer.from(base64, 'base64')
  // Non-canonical base64 (stray bits, missing padding) would let two strings name one key.
  if (blob.toString('base64') !== base64) return { problem: 'the key is not canonical base64' }
  const fields = readStrings(blob)
  if (fields === undefined || fields[0]?.toString('latin1') !== type) return { problem: 'the key blob does not match its type' }
  if (type === 'ssh-ed25519') {
    if (fields.length !== 2 || fields[1]?.length !== 32) return { problem: 'an ssh-ed25519 key is one 32-byte point' }
    if (!validPoint({ kty: 'OKP', crv: 'Ed25519', x: fields[1].toString('base64url') })) return { problem: 'not a valid Ed25519 public key' }
  } else {
    const point = fields[2]
    if (fields.length !== 3 || fields[1]?.toString('latin1') !== 'nistp256' || point?.length !== 65 || point[0] !== 4) {
      return { problem: 'an ecdsa-sha2-nistp256 key is the curve name and one uncompressed point' }
    }
    const jwk = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }
    if (!validPoint(jwk)) return { problem: 'not a valid P-256 public key' }
  }
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
  return { type, blob, line: `${type} ${base64}`, fingerprint }
}

/** The length-prefixed strings of a blob, or undefined when it does not split exactly into them. */
function readStrings(blob: Buffer): Buffer[] | undefined {
  const out: Buffer[] = []
  let at = 0
  while (at < blob.length) {
    if (at + 4 > blob.length || out.length >= 8) return undefined
    const length = blob.readUInt32BE(at)
    at += 4
    if (at + length > blob.length) return undefined
    out.push(blob.subarray(at, at + length))
    at += length
  }
  return out
}

function validPoint(jwk: Record<string, string>): boolean {
  try {
    createPublicKey({ key: jwk, format: 'jwk' })
    return true
  } catch {
    return false
  }
}
