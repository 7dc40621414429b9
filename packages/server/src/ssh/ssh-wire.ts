/**
 * The SSH wire encoding (RFC 4251 §5): string, uint32, uint64, byte and the packed lists that certificates and KRLs
 * are made of. Encoding only, no cryptography; the reader refuses anything truncated or left over.
 */

export class SshWriter {
  private readonly parts: Buffer[] = []

  byte(value: number): this {
    this.parts.push(Buffer.from([value & 0xff]))
    return this
  }

  uint32(value: number): this {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(value)
    this.parts.push(b)
    return this
  }

  uint64(value: bigint): this {
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(value)
    this.parts.push(b)
    return this
  }

  /** A length-prefixed byte string (text is UTF-8). */
  string(value: Buffer | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
    this.uint32(bytes.length)
    this.parts.push(bytes)
    return this
  }

  /** Bytes as they are, without a length (a nested structure already framed). */
  raw(value: Buffer): this {
    this.parts.push(value)
    return this
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts)
  }
}

/** A strict reader: every read checks the remaining length; `end()` refuses trailing bytes. */
export class SshReader {
  private offset = 0

  constructor(private readonly buffer: Buffer) {}

  get remaining(): number {
    return this.buffer.length - this.offset
  }

  byte(): number {
    this.need(1)
    return this.buffer[this.offset++] as number
  }

  uint32(): number {
    this.need(4)
    const value = this.buffer.readUInt32BE(this.offset)
    this.offset += 4
    return value
  }

  uint64(): bigint {
    this.need(8)
    const value = this.buffer.readBigUInt64BE(this.offset)
    this.offset += 8
    return value
  }

  string(): Buffer {
    const length = this.uint32()
    this.need(length)
    const value = this.buffer.subarray(this.offset, this.offset + length)
    this.offset += length
    return value
  }

  text(): string {
    return this.string().toString('utf8')
  }

  end(): void {
    if (this.remaining !== 0) throw new RangeError('trailing bytes')
  }

  private need(n: number): void {
    if (this.remaining < n) throw new RangeError('truncated')
  }
}

/** A list of strings packed one after another (certificate principals, KRL key ids). */
export function packStrings(values: readonly string[]): Buffer {
  const w = new SshWriter()
  for (const v of values) w.string(v)
  return w.toBuffer()
}
