/** `writ keys list` and `writ keys rotate`: the server's token-signing keys (public information only). */
import type { Command } from 'commander'
import type { CliContext } from './cli-context.js'
import { formatJson, formatTable, printable } from './output.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'

interface KeyInfo {
  kid: string
  alg: string
  createdAt: number
  retiredAt: number | null
}

export function registerKeysCommands(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('list and rotate the server\'s signing keys')
  const admin = (command: Command) => adminClientFor(locateServer(command.optsWithGlobals<GlobalOptions>(), ctx.env))

  keys.command('list')
    .description('list the signing keys; retired keys stay published while their tokens may live')
    .option('--json', 'print the API response as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const body = await admin(command).get<{ current: string; keys: KeyInfo[] }>('/v1/keys')
      ctx.out(options.json ? formatJson(body) : formatKeys(body.current, body.keys))
    })

  keys.command('rotate')
    .description('make a new signing key current; the previous one keeps verifying until its tokens expire')
    .option('--json', 'print the API response as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const body = await admin(command).post<{ previous: string; current: string; keys: KeyInfo[] }>('/v1/keys/rotate')
      if (options.json) return ctx.out(formatJson(body))
      ctx.out(`rotated the signing key: \`${printable(body.previous)}\` -> \`${printable(body.current)}\``)
      ctx.out(formatKeys(body.current, body.keys))
    })
}

function formatKeys(current: string, keys: readonly KeyInfo[]): string {
  return formatTable(
    ['KID', 'ALG', 'CREATED', 'RETIRED', 'CURRENT'],
    keys.map((k) => [k.kid, k.alg, isoTime(k.createdAt), isoTime(k.retiredAt), k.kid === current ? 'yes' : '']),
  )
}

function isoTime(ms: number | null): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : ''
}
