/** The rate-limit key of a client address: IPv4 as is, IPv4-mapped IPv6 as IPv4, any other IPv6 address by its /64. */

// untrusted in count, not in value: the address is the TCP peer (never a header), but one host usually holds a whole
// IPv6 /64, so keying on the full address would give it 2^64 fresh buckets to rotate through.
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown'
  if (!address.includes(':')) return address
  const lower = address.toLowerCase()
  if (lower.startsWith('::ffff:') && lower.includes('.')) return lower.slice(7)
  return ipv6Prefix64(lower) ?? lower
}

function ipv6Prefix64(address: string): string | undefined {
  const zone = address.indexOf('%')
  const bare = zone === -1 ? address : address.slice(0, zone)
  const halves = bare.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] ? halves[0].split(':') : []
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : []
  // A trailing dotted quad (`64:ff9b::192.0.2.1`) stands for two groups.
  const groups = head.length + tail.length + (tail.at(-1)?.includes('.') || (halves.length === 1 && head.at(-1)?.includes('.')) ? 1 : 0)
  const missing = 8 - groups
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  const prefix: string[] = []
  for (const group of all.slice(0, 4)) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined
    prefix.push(Number.parseInt(group, 16).toString(16))
  }
  return `${prefix.join(':')}::/64`
}
