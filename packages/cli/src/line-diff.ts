/** A line diff (Myers' O(ND) algorithm) and its unified-format hunks, for `writ policy diff`. */

export interface DiffOp {
  kind: 'equal' | 'delete' | 'insert'
  line: string
}

export interface Hunk {
  /** The hunk header, e.g. `@@ -3,7 +3,8 @@`. */
  header: string
  /** Lines prefixed with ' ', '-' or '+'. */
  lines: string[]
}

/** Splits text into lines; a final newline ends the last line rather than starting an empty one. */
export function splitLines(text: string): string[] {
  if (text === '') return []
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  return lines
}

/** The shortest edit script turning `a` into `b`. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffOp[] {
  // The common head and tail are the bulk of a typical policy edit; they cost nothing to take off first.
  let head = 0
  while (head < a.length && head < b.length && a[head] === b[head]) head++
  let tail = 0
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++
  const middle = myers(a.slice(head, a.length - tail), b.slice(head, b.length - tail))
  return [
    ...a.slice(0, head).map((line) => ({ kind: 'equal' as const, line })),
    ...middle,
    ...a.slice(a.length - tail).map((line) => ({ kind: 'equal' as const, line })),
  ]
}

/** Unified-diff hunks with `context` unchanged lines around each change; none when the inputs are equal. */
export function unifiedHunks(ops: readonly DiffOp[], context = 3): Hunk[] {
  const changed = ops.flatMap((op, index) => (op.kind === 'equal' ? [] : [index]))
  const ranges: [number, number][] = []
  for (const index of changed) {
    const last = ranges.at(-1)
    if (last !== undefined && index - context <= last[1] + 1) last[1] = Math.min(ops.length - 1, index + context)
    else ranges.push([Math.max(0, index - context), Math.min(ops.length - 1, index + context)])
  }

  // Line numbers before each op, in a and in b.
  const aBefore: number[] = []
  const bBefore: number[] = []
  let aLine = 0
  let bLine = 0
  for (const op of ops) {
    aBefore.push(aLine)
    bBefore.push(bLine)
    if (op.kind !== 'insert') aLine++
    if (op.kind !== 'delete') bLine++
  }

  return ranges.map(([from, to]) => {
    const slice = ops.slice(from, to + 1)
    const aLength = slice.filter((op) => op.kind !== 'insert').length
    const bLength = slice.filter((op) => op.kind !== 'delete').length
    const header = `@@ -${range(at(aBefore, from), aLength)} +${range(at(bBefore, from), bLength)} @@`
    return { header, lines: slice.map((op) => `${op.kind === 'equal' ? ' ' : op.kind === 'delete' ? '-' : '+'}${op.line}`) }
  })
}

/** GNU diff's notation: `start,length`, 1-based; an empty range names the line before it; a length of 1 is implied. */
function range(linesBefore: number, length: number): string {
  if (length === 0) return `${linesBefore},0`
  return length === 1 ? `${linesBefore + 1}` : `${linesBefore + 1},${length}`
}

function myers(a: readonly string[], b: readonly string[]): DiffOp[] {
  const n = a.length
  const m = b.length
  const max = n + m
  const offset = max + 1
  // v[offset + k]: the furthest x reached on diagonal k; trace keeps v as it was before each round d.
  const v = new Int32Array(2 * max + 3)
  const trace: Int32Array[] = []
  search: for (let d = 0; d <= max; d++) {
    trace.push(v.slice())
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && at(v, offset + k - 1) < at(v, offset + k + 1)) ? at(v, offset + k + 1) : at(v, offset + k - 1) + 1
      let y = x - k
      while (x < n && y < m && a[x] === b[y]) {
        x++
        y++
      }
      v[offset + k] = x
      if (x >= n && y >= m) break search
    }
  }

  const ops: DiffOp[] = []
  let x = n
  let y = m
  for (let d = trace.length - 1; d >= 0; d--) {
    const before = trace[d] as Int32Array
    const k = x - y
    const previousK = k === -d || (k !== d && at(before, offset + k - 1) < at(before, offset + k + 1)) ? k + 1 : k - 1
    const previousX = at(before, offset + previousK)
    const previousY = previousX - previousK
    while (x > previousX && y > previousY) {
      ops.push({ kind: 'equal', line: a[x - 1] as string })
      x--
      y--
    }
    if (d > 0) {
      if (x === previousX) ops.push({ kind: 'insert', line: b[y - 1] as string })
      else ops.push({ kind: 'delete', line: a[x - 1] as string })
    }
    x = previousX
    y = previousY
  }
  return ops.reverse()
}

function at(values: ArrayLike<number>, index: number): number {
  return values[index] ?? 0
}
