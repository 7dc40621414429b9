/**
 * The OpenSSH certificate format (PROTOCOL.certkeys): `ssh-ed25519-cert-v01@openssh.com` and
 * `ecdsa-sha2-nistp256-cert-v01@openssh.com`, signed by an Ed25519 CA with node:crypto. Only the encoding lives here;
 * what goes into a certificate is decided by the callers (issue-user-certificate.ts, issue-host-certificate.ts).
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto'
import { ed25519Blob, type SshPublicKey } from './ssh-public-key.js'
import { SshReader, SshWriter, packStrings } from './ssh-wire.js'

export type CertificateKind = 'user' | 'host'

export interface CertificateFields {
  kind: CertificateKind
  publicKey: SshPublicKey
  /** Unique, non-zero (a KRL cannot name serial 0). */
  serial: bigint
  keyId: string
  principals: readonly string[]
  /** Epoch seconds. */
  validAfter: number
  validBefore: number
  /** `force-command`, `source-address`; empty for host certificates. */
  criticalOptions?: Readonly<Record<string, string>>
  /** e.g. `permit-pty`; always empty for host certificates. */
  extensions?: readonly string[]
}

export interface SignedCertificate {
  /** `ssh-ed25519-cert-v01@openssh.com AAAA...`: the `-cert.pub` line. */
  line: string
  blob: Buffer
}

const CERT_TYPES = { 'ssh-ed25519': 'ssh-ed25519-cert-v01@openssh.com', 'ecdsa-sha2-nistp256': 'ecdsa-sha2-nistp256-cert-v01@openssh.com' } as const
const KIND_CODES = { user: 1, host: 2 } as const

/** Encodes and signs; resolves off the event loop (node:crypto signs on the thread pool with a callback). */
export async function signCertificate(fields: CertificateFields, caKey: KeyObject): Promise<SignedCertificate> {
  const body = certificateBody(fields, caBlob(caKey))
  const signature = await new Promise<Buffer>((resolve, reject) => {
    sign(null, body, caKey, (error, value) => (error ? reject(error) : resolve(value)))
  })
  const blob = Buffer.concat([body, new SshWriter().string(new SshWriter().string('ssh-ed25519').string(signature).toBuffer()).toBuffer()])
  return { blob, line: `${CERT_TYPES[fields.publicKey.type]} ${blob.toString('base64')}` }
}

// The CA's blob, once per key (exporting the public half costs more than the rest of the encoding).
const caBlobs = new WeakMap<KeyObject, Buffer>()
function caBlob(caKey: KeyObject): Buffer {
  let blob = caBlobs.get(caKey)
  if (blob === undefined) {
    blob = ed25519Blob(caKey)
    caBlobs.set(caKey, blob)
  }
  return blob
}

/** Everything the CA signs: the certificate up to and including the signature key. */
export function certificateBody(fields: CertificateFields, caBlob: Buffer): Buffer {
  if (fields.serial <= 0n || fields.serial >= 2n ** 64n) throw new TypeError('serial must be a non-zero uint64')
  if (!(fields.validAfter < fields.validBefore)) throw new TypeError('validAfter must precede validBefore')
  // The key's own fields follow its type name in its blob; the certificate carries them unchanged.
  const keyFields = fields.publicKey.blob.subarray(4 + new SshReader(fields.publicKey.blob).string().length)
  return new SshWriter()
    .string(CERT_TYPES[fields.publicKey.type])
    .string(randomBytes(32))
    .raw(keyFields)
    .uint64(fields.serial)
    .uint32(KIND_CODES[fields.kind])
    .string(fields.keyId)
    .string(packStrings(fields.principals))
    .uint64(BigInt(fields.validAfter))
    .uint64(BigInt(fields.validBefore))
    .string(options(fields.criticalOptions ?? {}))
    .string(options(Object.fromEntries((fields.extensions ?? []).map((name) => [name, undefined]))))
    .string(Buffer.alloc(0))
    .string(caBlob)
    .toBuffer()
}

// PROTOCOL.certkeys: sorted by name, each once; an option's data is a string holding its value, an extension's is empty.
function options(entries: Readonly<Record<string, string | undefined>>): Buffer {
  const w = new SshWriter()
  for (const name of Object.keys(entries).sort(byteOrder)) {
    const value = entries[name]
    w.string(name).string(value === undefined ? Buffer.alloc(0) : new SshWriter().string(value).toBuffer())
  }
  return w.toBuffer()
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}
