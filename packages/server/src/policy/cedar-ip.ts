/** Cedar's `ipaddr` extension values (`ip("10.0.0.0/8")`), parsed and compared exactly as cedar-policy-core does. */

/** An address and its prefix length; Cedar keeps the address as written (`ip("10.0.0.1/8")` is not truncated). */
export class CedarIp {
  constructor(
    readonly v4: boolean,
    /** The address as an unsigned integer: a number for IPv4 (32 bits), a bigint for IPv6 (128 bits). */
    readonly bits: number | bigint,
    readonly prefix: number,
  ) {}

  // Cedar derives equality on (address, prefix): `ip("::1") == ip("0::1")`, but `ip("10.0.0.1/8") != ip("10.0.0.0/8")`.
  equals(other: CedarIp): boolean {
    return this.v4 === other.v4 && this.bits === other.bits && this.prefix === other.prefix
  }

  /** Every address of this range lies in `other`'s; an IPv4 range is never in an IPv6 one, nor the reverse. */
  isInRange(other: CedarIp): boolean {
    if (this.v4 !== other.v4) return false
    if (this.v4) {
      const [low, high] = range4(this.bits as number, this.prefix)
      const [otherLow, otherHigh] = range4(other.bits as number, other.prefix)
      return otherLow <= low && high <= otherHigh
    }
    const [low, high] = range6(this.bits as bigint, this.prefix)
    const [otherLow, otherHigh] = range6(other.bits as bigint, other.prefix)
    return otherLow <= low && high <= otherHigh
  }

  // Cedar: the address is a loopback one and the range does not reach past 127.0.0.0/8 (IPv4) or ::1 (IPv6).
  isLoopback(): boolean {
    if (this.v4) return (this.bits as number) >>> 24 === 127 && this.prefix >= 8
    return this.bits === 1n && this.prefix >= 128
  }

  // Cedar: 224.0.0.0/4 and ff00::/8, with a prefix at least that long.
  isMulticast(): boolean {
    if (this.v4) return (this.bits as number) >>> 28 === 0xe && this.prefix >= 4
    return (this.bits as bigint) >> 120n === 0xffn && this.prefix >= 8
  }
}

/** The first and last address of the range (Cedar's network and broadcast addresses). */
function range4(bits: number, prefix: number): [number, number] {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
  return [(bits & mask) >>> 0, (bits | ~mask) >>> 0]
}

function range6(bits: bigint, prefix: number): [bigint, bigint] {
  const host = BigInt(128 - prefix)
  return [(bits >> host) << host, bits | ((1n << host) - 1n)]
}

// Cedar refuses longer strings before parsing (`ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/128`).
const MAX_LENGTH = 43

/**
 * What Cedar's `ip()` makes of `text`, or undefined when Cedar refuses it: Rust's strict address grammar (dotted quads
 * without leading zeros; IPv6 groups of 1 to 4 hex digits, one `::` standing for at least one group, no zone), no IPv4
 * embedded in IPv6 (two colons and two dots), and a prefix of digits without leading zeros, at most 32 or 128.
 */
export function parseCedarIp(text: string): CedarIp | undefined {
  if (text.length > MAX_LENGTH) return undefined
  if (countAtLeastTwo(text, ':') && countAtLeastTwo(text, '.')) return undefined
  const slash = text.indexOf('/')
  const address = slash === -1 ? text : text.slice(0, slash)
  const v4 = parseIpv4(address)
  const bits = v4 ?? parseIpv6(address)
  if (bits === undefined) return undefined
  const max = v4 === undefined ? 128 : 32
  if (slash === -1) return new CedarIp(v4 !== undefined, bits, max)
  const prefix = text.slice(slash + 1)
  if (prefix.length === 0 || prefix.length > String(max).length || !/^\d+$/.test(prefix)) return undefined
  if (prefix.length > 1 && prefix.startsWith('0')) return undefined
  const length = Number(prefix)
  return length > max ? undefined : new CedarIp(v4 !== undefined, bits, length)
}

function countAtLeastTwo(text: string, char: string): boolean {
  const first = text.indexOf(char)
  return first !== -1 && text.indexOf(char, first + 1) !== -1
}

function parseIpv4(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let bits = 0
  for (const part of parts) {
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part)) return undefined
    const octet = Number(part)
    if (octet > 255) return undefined
    bits = bits * 256 + octet
  }
  return bits
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (half: string): string[] | undefined => {
    if (half === '') return []
    const parts = half.split(':')
    return parts.every((part) => /^[0-9a-fA-F]{1,4}$/.test(part)) ? parts : undefined
  }
  const head = groups(halves[0] ?? '')
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : []
  if (head === undefined || tail === undefined) return undefined
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) return undefined
  const all = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail]
  let bits = 0n
  for (const group of all) bits = (bits << 16n) | BigInt(parseInt(group, 16))
  return bits
}
