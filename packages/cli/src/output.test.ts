import { describe, expect, it } from 'vitest'
import { formatJson, formatTable, printable } from './output.js'

describe('printable', () => {
  it.each([
    ['a line feed', 'ok\nforged line', 'ok\\nforged line'],
    ['a carriage return', 'ok\rforged', 'ok\\rforged'],
    ['an ANSI colour sequence', '\u001b[31mred', '\\u001b[31mred'],
    ['a C1 control sequence introducer', '\u009b31m', '\\u009b31m'],
    ['a right-to-left override', 'abc\u202edef', 'abc\\u202edef'],
    ['a line separator', 'a\u2028b', 'a\\u2028b'],
  ])('escapes %s', (_, input, expected) => {
    expect(printable(input)).toBe(expected)
  })

  it('leaves ordinary text, including non-ASCII letters, alone', () => {
    expect(printable('deploy-bot: résumé ✓')).toBe('deploy-bot: résumé ✓')
  })
})

describe('formatJson', () => {
  it('stays valid JSON while escaping the controls JSON.stringify leaves raw', () => {
    const text = formatJson({ name: 'x\u009b\u202ey\n' })
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e](?<!\n)/u)
    expect(JSON.parse(text)).toEqual({ name: 'x\u009b\u202ey\n' })
  })
})

describe('formatTable', () => {
  it('aligns columns and escapes every cell', () => {
    expect(formatTable(['A', 'B'], [['long value', 'x\ny'], ['s', 'z']])).toBe('A           B\nlong value  x\\ny\ns           z')
  })
})
