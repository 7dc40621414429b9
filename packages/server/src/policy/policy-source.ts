/** Cedar policy files split into one source text per policy, with the positions needed to report problems. */

export interface PolicySource {
  file: string
  /** Position of the policy within its file, from 0. */
  index: number
  /** The policy's text, including the comments and annotations before it. */
  text: string
  /** Offset of `text` within the file, in UTF-16 code units. */
  start: number
}

/**
 * Splits a file at every top-level `;` (outside string literals and `//` comments). Cedar's own parser stays the judge:
 * the caller parses each piece and cross-checks the count against the whole file, so a disagreement is an error.
 */
export function splitPolicies(file: string, text: string): PolicySource[] {
  const sources: PolicySource[] = []
  let start = 0
  let sawToken = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '/' && text[i + 1] === '/') {
      const newline = text.indexOf('\n', i)
      i = newline === -1 ? text.length : newline
      continue
    }
    if (c === '"') {
      sawToken = true
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++
      continue
    }
    if (c === ';') {
      sources.push({ file, index: sources.length, text: text.slice(start, i + 1), start })
      start = i + 1
      sawToken = false
      continue
    }
    if (c !== undefined && !/\s/.test(c)) sawToken = true
  }
  // Text after the last `;` that is not just whitespace or comments is a policy missing its `;`: let Cedar say so.
  if (sawToken) sources.push({ file, index: sources.length, text: text.slice(start), start })
  return sources
}

export interface SourcePosition {
  line: number
  column: number
}

/** 1-based line and column of a Cedar source offset (UTF-8 bytes into `source.text`) within the source's file. */
export function positionOf(fileText: string, source: PolicySource, byteOffset: number): SourcePosition {
  const within = isAscii(source.text) ? byteOffset : Buffer.from(source.text, 'utf8').subarray(0, byteOffset).toString('utf8').length
  const offset = Math.min(source.start + within, fileText.length)
  let line = 1
  let lineStart = 0
  for (let i = fileText.indexOf('\n'); i !== -1 && i < offset; i = fileText.indexOf('\n', i + 1)) {
    line++
    lineStart = i + 1
  }
  return { line, column: offset - lineStart + 1 }
}

function isAscii(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\u0000-\u007f]*$/.test(text)
}

/** The `@id("...")` of a policy that does not parse, read leniently so the problem can still be named by it. */
export function declaredIdOf(text: string): string | undefined {
  const match = /@id\s*\(\s*"((?:[^"\\]|\\.)*)"\s*\)/.exec(text)
  return match?.[1]
}
