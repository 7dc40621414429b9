/** `writ resource-server ...`: register the services that accept Writ's tokens, update, inspect and remove them. */
import type { Command } from 'commander'
import type { ResourceServer, ResourceServerVersion } from '@writ/server'
import type { CliContext } from './cli-context.js'
import { readPublicKeys } from './jwk-files.js'
import { formatResourceServer, formatResourceServerHistory, formatResourceServerList } from './resource-server-views.js'
import { formatFields, formatJson, printable } from './output.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'

interface JsonOption extends GlobalOptions { json?: boolean }
interface RegisterOptions extends JsonOption { name: string; audience: string; publicKey: string; description?: string; owner?: string }
interface UpdateOptions extends JsonOption { name?: string; audience?: string; publicKey?: string; description?: string; owner?: string }

export function resourceServerPath(idOrName: string, suffix = ''): string {
  return `/v1/resource-servers/${encodeURIComponent(idOrName)}${suffix}`
}

export function registerResourceServerCommands(program: Command, ctx: CliContext): void {
  const rs = program.command('resource-server').description('register the resource servers (APIs) that accept Writ\'s tokens')
  const admin = (command: Command) => adminClientFor(locateServer(command.optsWithGlobals<GlobalOptions>(), ctx.env))

  rs.command('register')
    .description('register a resource server: its audience (exact `aud` of its tokens) and the public key it authenticates with')
    .requiredOption('--name <name>', 'unique name (lowercase letters, digits and . _ -)')
    .requiredOption('--audience <uri>', 'absolute URI or URN its tokens carry in `aud` (RFC 8707 `resource`)')
    .requiredOption('--public-key <file>', 'public JWK or JWKS (e.g. from `writ agent keygen --out rs`: rs.pub.jwk)')
    .option('--description <text>', 'what it is')
    .option('--owner <email>', 'who answers for it')
    .option('--json', 'print the new resource server as JSON')
    .action(async (options: RegisterOptions, command: Command) => {
      const created = await admin(command).post<ResourceServer>('/v1/resource-servers', {
        name: options.name, audience: options.audience, jwks: { keys: readPublicKeys(options.publicKey) },
        ...(options.description !== undefined ? { description: options.description } : {}),
        ...(options.owner !== undefined ? { owner: options.owner } : {}),
      })
      if (options.json) return ctx.out(formatJson(created))
      ctx.out(`registered resource server \`${printable(created.name)}\``)
      ctx.out(formatFields([
        ['id', created.id], ['audience', created.audience], ['version', created.version],
        ['keys', created.document.jwks.keys.map((k) => k.kid).join(', ')],
      ], '  '))
      ctx.out('its client id for Writ\'s API (private_key_jwt) is the id above')
    })

  rs.command('list')
    .description('list resource servers')
    .option('--json', 'print the API response as JSON')
    .action(async (options: JsonOption, command: Command) => {
      const body = await admin(command).get<{ resource_servers: ResourceServer[] }>('/v1/resource-servers')
      ctx.out(options.json ? formatJson(body) : formatResourceServerList(body.resource_servers))
    })

  rs.command('show <server>')
    .description('show one resource server (by id or name) and its version history')
    .option('--json', 'print the resource server as JSON')
    .action(async (idOrName: string, options: JsonOption, command: Command) => {
      const client = admin(command)
      const found = await client.get<ResourceServer>(resourceServerPath(idOrName))
      if (options.json) return ctx.out(formatJson(found))
      const { versions } = await client.get<{ versions: ResourceServerVersion[] }>(resourceServerPath(found.id, '/versions'))
      ctx.out(`${formatResourceServer(found)}\nhistory\n${formatResourceServerHistory(versions)}`)
    })

  rs.command('update <server>')
    .description('change a resource server (a new version): audience, key, name, description or owner')
    .option('--name <name>', 'new name')
    .option('--audience <uri>', 'new audience; tokens for the old one are no longer issued')
    .option('--public-key <file>', 'public JWK or JWKS replacing its keys (list both while rotating)')
    .option('--description <text>', 'new description')
    .option('--owner <email>', 'new owner')
    .option('--json', 'print the updated resource server as JSON')
    .action(async (idOrName: string, options: UpdateOptions, command: Command) => {
      const client = admin(command)
      const current = await client.get<ResourceServer>(resourceServerPath(idOrName))
      const document = {
        ...current.document,
        ...(options.name !== undefined ? { name: options.name } : {}),
        ...(options.audience !== undefined ? { audience: options.audience } : {}),
        ...(options.publicKey !== undefined ? { jwks: { keys: readPublicKeys(options.publicKey) } } : {}),
        ...(options.description !== undefined ? { description: options.description } : {}),
        ...(options.owner !== undefined ? { owner: options.owner } : {}),
      }
      const updated = await client.put<ResourceServer>(resourceServerPath(current.id), document)
      if (options.json) return ctx.out(formatJson(updated))
      if (updated.version === current.version) return ctx.out(`resource server \`${printable(updated.name)}\` is unchanged (version ${updated.version})`)
      ctx.out(`updated resource server \`${printable(updated.name)}\` to version ${updated.version}`)
    })

  rs.command('remove <server>')
    .description('remove a resource server for good: it can no longer authenticate and its audience is no longer issued for')
    .option('--json', 'print the removed resource server as JSON')
    .action(async (idOrName: string, options: JsonOption, command: Command) => {
      const client = admin(command)
      const current = await client.get<ResourceServer>(resourceServerPath(idOrName))
      const removed = await client.delete<ResourceServer>(resourceServerPath(current.id))
      if (options.json) return ctx.out(formatJson(removed))
      ctx.out(`resource server \`${printable(removed.name)}\` (${printable(removed.id)}) is removed, version ${removed.version}`)
    })
}
