/** An iterative pre-parse scan of JSON text for duplicate member names and excessive nesting, which JSON.parse hides. */

interface Frame {
  /** Member names seen so far; undefined for an array. */
  names: Set<string> | undefined
  expectingName: boolean
}

/**
 * Returns 'duplicate_member' or 'json_too_deep' when `text` has either problem at any depth, else undefined.
 * It never recurses and never throws; malformed text is left for JSON.parse to reject.
 */
export function scanJsonMembers(text: string, maxDepth: number): 'duplicate_member' | 'json_too_deep' | undefined {
  const stack: Frame[] = []
  let top: Frame | undefined
  const length = text.length
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) {
      const end = closingQuote(text, i + 1)
      if (end === -1) return undefined
      if (top !== undefined && top.names !== undefined && top.expectingName) {
        const name = memberName(text.slice(i + 1, end))
        if (name === undefined) return undefined
        // INVARIANT: names compare after unescaping, so `"alg"` and `"\u0061lg"` are the same member.
        if (top.names.has(name)) return 'duplicate_member'
        top.names.add(name)
        top.expectingName = false
      }
      i = end
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= maxDepth) return 'json_too_deep'
      top = { names: c === 0x7b ? new Set() : undefined, expectingName: c === 0x7b }
      stack.push(top)
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop()
      top = stack[stack.length - 1]
    } else if (c === 0x2c /* , */) {
      if (top !== undefined && top.names !== undefined) top.expectingName = true
    }
  }
  return undefined
}

/** Index of the quote that closes a string starting at `from`, skipping escaped quotes; -1 when unterminated. */
function closingQuote(text: string, from: number): number {
  let end = text.indexOf('"', from)
  while (end !== -1) {
    let backslashes = 0
    for (let j = end - 1; j >= from && text.charCodeAt(j) === 0x5c; j--) backslashes++
    if (backslashes % 2 === 0) return end
    end = text.indexOf('"', end + 1)
  }
  return -1
}

function memberName(raw: string): string | undefined {
  if (!raw.includes('\\')) return raw
  try {
    return JSON.parse(`"${raw}"`) as string
  } catch {
    return undefined
  }
}
