/** Token ids (`jti`): UUIDv7 (RFC 9562 §5.7), unique and ordered by issue time. */
import { randomFillSync } from 'node:crypto'

/**
 * 48 bits of Unix milliseconds, then 74 random bits. The time prefix makes each batch of issued-token rows land at
 * the end of the primary-key B-tree (a few pages per commit instead of one random page per token); the random part
 * keeps ids unguessable. Nothing may rely on the time in a jti: `iat` is the claim for that.
 */
export function timeOrderedId(nowMs: number): string {
  const bytes = Buffer.alloc(16)
  takeRandom(bytes)
  bytes.writeUIntBE(nowMs, 0, 6)
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70 // version 7
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80 // RFC 9562 variant
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

// Random bytes drawn from the CSPRNG in blocks, as randomUUID() does: one call per 256 ids instead of one per id.
const pool = Buffer.alloc(16 * 256)
let offset = pool.length

function takeRandom(into: Buffer): void {
  if (offset + into.length > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  pool.copy(into, 0, offset, offset + into.length)
  // Each byte is handed out once.
  pool.fill(0, offset, offset + into.length)
  offset += into.length
}
