/** Terminal output: values that came from the server are escaped before printing, and tables and JSON are laid out here. */

// untrusted: agent names, descriptions, audit data and error details are attacker-influenced. A raw CR/LF could forge
// extra lines in a log that captures this output, and ESC/CSI sequences could rewrite the terminal; C0 and C1 controls,
// DEL, Unicode line separators and bidi overrides are therefore printed as visible escapes.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
// JSON.stringify already escapes C0 controls; these are the ones it leaves raw.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/** A value as one safe line of text; undefined and null print as empty. */
export function printable(value: unknown): string {
  if (value === undefined || value === null) return ''
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)
  return text.replace(UNSAFE, (c) => NAMED[c] ?? unicodeEscape(c))
}

/** One line of a text file (policy source, a schema) as safe output: like printable(), but a tab stays a tab. */
export function printableLine(line: string): string {
  return line.split('\t').map(printable).join('\t')
}

/** Pretty JSON that is still valid JSON and carries no raw control or direction characters. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE_IN_JSON, unicodeEscape)
}

/** Left-aligned columns under a header row; every cell is escaped. */
export function formatTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return formatRows([headers, ...rows.map((row) => headers.map((_, i) => row[i]))])
}

/** Left-aligned columns; every cell is escaped; the last column is not padded. */
export function formatRows(rows: readonly (readonly unknown[])[], indent = ''): string {
  const cells = rows.map((row) => row.map(printable))
  const columns = Math.max(0, ...cells.map((row) => row.length))
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)))
  return cells
    .map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('  ').trimEnd())
    .join('\n')
}

/** `label  value` lines with the labels aligned, for single records. */
export function formatFields(fields: readonly (readonly [string, unknown])[], indent = ''): string {
  const width = Math.max(...fields.map(([label]) => label.length))
  return fields.map(([label, value]) => `${indent}${label.padEnd(width)}  ${printable(value)}`.trimEnd()).join('\n')
}

function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
}
