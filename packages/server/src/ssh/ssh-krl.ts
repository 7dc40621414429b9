/**
 * The OpenSSH key revocation list format (PROTOCOL.krl): one certificate section per CA, each with a serial list and
 * a key-id list. sshd reads it as `RevokedKeys`; `ssh-keygen -Q -f <krl> <cert>` checks it. Encoding only.
 */
import { SshWriter } from './ssh-wire.js'

const KRL_MAGIC = 0x5353484b524c0a00n
const KRL_FORMAT_VERSION = 1
const KRL_SECTION_CERTIFICATES = 1
const KRL_SECTION_CERT_SERIAL_LIST = 0x20
const KRL_SECTION_CERT_KEY_ID = 0x23

export interface KrlCaSection {
  /** The CA's public key blob. */
  ca: Buffer
  serials: readonly bigint[]
  keyIds: readonly string[]
}

export interface KrlContents {
  /** Increases with every change (sshd ignores it; operators read it with `ssh-keygen -Q -l`). */
  version: bigint
  /** Epoch seconds. */
  generatedAt: number
  comment: string
  sections: readonly KrlCaSection[]
}

export function encodeKrl(krl: KrlContents): Buffer {
  const w = new SshWriter()
    .uint64(KRL_MAGIC)
    .uint32(KRL_FORMAT_VERSION)
    .uint64(krl.version)
    .uint64(BigInt(krl.generatedAt))
    .uint64(0n)
    .string(Buffer.alloc(0))
    .string(krl.comment)
  for (const section of krl.sections) {
    if (section.serials.length === 0 && section.keyIds.length === 0) continue
    const body = new SshWriter().string(section.ca).string(Buffer.alloc(0))
    if (section.serials.length > 0) {
      // Sorted, so the same set always encodes to the same bytes (the ETag is their hash). One buffer per list: a
      // kill switch may revoke thousands of certificates at once.
      const sorted = [...section.serials].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      const serials = Buffer.allocUnsafe(8 * sorted.length)
      sorted.forEach((serial, i) => serials.writeBigUInt64BE(serial, 8 * i))
      body.byte(KRL_SECTION_CERT_SERIAL_LIST).string(serials)
    }
    if (section.keyIds.length > 0) {
      const encoded = [...section.keyIds].sort().map((id) => Buffer.from(id, 'utf8'))
      const ids = Buffer.allocUnsafe(encoded.reduce((n, b) => n + 4 + b.length, 0))
      let at = 0
      for (const id of encoded) {
        at = ids.writeUInt32BE(id.length, at)
        at += id.copy(ids, at)
      }
      body.byte(KRL_SECTION_CERT_KEY_ID).string(ids)
    }
    w.byte(KRL_SECTION_CERTIFICATES).string(body.toBuffer())
  }
  return w.toBuffer()
}
