import { describe, expect, it } from 'vitest'
import type { Command } from 'commander'
import { systemClock } from './clock.js'
import { buildProgram, looksLikeValue } from './run-cli.js'
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

describe('the command tree', () => {
  // Commands that run something instead of printing a result: serve (a server; its --print-config prints YAML) and
  // ssh login (an interactive ssh session; `writ ssh cert --json` prints the certificate).
  const RUNNERS = ['serve', 'ssh login']

  it('gives every command --json, except those that run something rather than print a result', () => {
    const program = buildProgram({ env: {}, clock: systemClock, out: () => undefined, err: () => undefined, untilStopped: () => new Promise(() => undefined), readSecret: async () => '' })
    const leaves = (command: Command, path: string[]): string[][] =>
      command.commands.length === 0 ? [path] : command.commands.flatMap((sub) => leaves(sub, [...path, sub.name()]))
    const withoutJson = leaves(program, [])
      .filter((path) => !find(program, path).options.some((option) => option.long === '--json'))
      .map((path) => path.join(' '))
    expect(withoutJson.sort()).toEqual([...RUNNERS].sort())
  })
})

function find(program: Command, path: readonly string[]): Command {
  return path.reduce((command, name) => command.commands.find((sub) => sub.name() === name) as Command, program)
}
