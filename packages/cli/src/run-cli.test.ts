import { describe, expect, it } from 'vitest'
import { looksLikeValue } from './run-cli.js'
import { runWrit } from './test-cli.fixture.js'

const HINT = 'goes after `--`'

describe('the hint for an argument that starts with a dash', () => {
  it.each([
    ['-AbC_d9xYz', true],
    ['-5', true],
    ['-0a1b2c3d', true],
    ['-abcdefghijklmnopqrstuvwxyz', true],
    ['--foo=Bar', false],
    ['-x', false],
    ['--jsn', false],
    ['--admin-tokn', false],
    ['--against-audit-x', false],
    ['--Json', true],
  ])('looksLikeValue(%s) is %s', (argument, expected) => {
    expect(looksLikeValue(argument)).toBe(expected)
  })

  it('is shown after an unknown option that looks like an id', async () => {
    const result = await runWrit(['approvals', 'show', '-Qk3_vZ8aLp0'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("unknown option '-Qk3_vZ8aLp0'")
    expect(result.stderr).toContain(HINT)
  })

  it('is not shown after a mistyped option name', async () => {
    const result = await runWrit(['agent', 'list', '--jsn'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("unknown option '--jsn'")
    expect(result.stderr).not.toContain(HINT)
  })
})
