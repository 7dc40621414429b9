import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { diffLines, splitLines, unifiedHunks } from './line-diff.js'

const apply = (ops: ReturnType<typeof diffLines>) => ({
  a: ops.filter((op) => op.kind !== 'insert').map((op) => op.line),
  b: ops.filter((op) => op.kind !== 'delete').map((op) => op.line),
})

describe('diffLines', () => {
  it('turns a into b with the fewest insertions and deletions', () => {
    const ops = diffLines(['a', 'b', 'c', 'a', 'b', 'b', 'a'], ['c', 'b', 'a', 'b', 'a', 'c'])
    expect(apply(ops)).toEqual({ a: ['a', 'b', 'c', 'a', 'b', 'b', 'a'], b: ['c', 'b', 'a', 'b', 'a', 'c'] })
    // Myers' classic example: edit distance 5.
    expect(ops.filter((op) => op.kind !== 'equal')).toHaveLength(5)
  })

  it('reproduces both sides of any pair of inputs', () => {
    const lines = fc.array(fc.constantFrom('x', 'y', 'z', ''), { maxLength: 30 })
    fc.assert(fc.property(lines, lines, (a, b) => {
      expect(apply(diffLines(a, b))).toEqual({ a, b })
    }))
  })

  it('handles empty sides', () => {
    expect(diffLines([], [])).toEqual([])
    expect(diffLines([], ['a'])).toEqual([{ kind: 'insert', line: 'a' }])
    expect(diffLines(['a'], [])).toEqual([{ kind: 'delete', line: 'a' }])
  })
})

describe('unifiedHunks', () => {
  it('prints GNU-style hunks with three lines of context and merges close changes', () => {
    const a = splitLines('1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n')
    const b = [...a]
    b[1] = 'two'
    b[4] = 'five'
    b.splice(14, 1)
    const hunks = unifiedHunks(diffLines(a, b))
    expect(hunks.map((hunk) => hunk.header)).toEqual(['@@ -1,8 +1,8 @@', '@@ -12,5 +12,4 @@'])
    expect(hunks[0]?.lines).toEqual([' 1', '-2', '+two', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8'])
    expect(hunks[1]?.lines).toEqual([' 12', ' 13', ' 14', '-15', ' 16'])
  })

  it('names the line before an empty range, and has no hunk for equal inputs', () => {
    expect(unifiedHunks(diffLines([], ['a', 'b'])).map((hunk) => hunk.header)).toEqual(['@@ -0,0 +1,2 @@'])
    expect(unifiedHunks(diffLines(['a'], []))[0]?.header).toBe('@@ -1 +0,0 @@')
    expect(unifiedHunks(diffLines(['a', 'b'], ['a', 'b']))).toEqual([])
  })
})
