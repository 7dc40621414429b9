/** The control plane's `writ host ...`: join tokens, list, show, label and remove enrolled hosts (admin API). */
import type { Command } from 'commander'
import type { Host, HostVersion } from '@writ/server'
import { WritError } from '@writ/sdk'
import type { CliContext } from './cli-context.js'
import { hostCommand } from './host-side-commands.js'
import { formatHost, formatHostHistory, formatHostList, labelText } from './host-views.js'
import { formatFields, formatJson, printable } from './output.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'

interface JsonOption extends GlobalOptions { json?: boolean }
interface TokenOptions extends JsonOption { labels?: string; name?: string; ttl?: string }
interface RemoveOptions extends JsonOption { reason?: string }

export function hostPath(idOrName: string, suffix = ''): string {
  return `/v1/hosts/${encodeURIComponent(idOrName)}${suffix}`
}

export function registerHostCommands(program: Command, ctx: CliContext): void {
  const host = hostCommand(program)
  const admin = (command: Command) => adminClientFor(locateServer(command.optsWithGlobals<GlobalOptions>(), ctx.env))

  host.command('token').description('join tokens for enrolling hosts')
    .command('create')
    .description('make a one-time join token (shown once) for `writ host enroll --token`')
    .option('--labels <k=v,...>', 'the host\'s labels, e.g. env=prod,role=web')
    .option('--name <name>', 'the only host name this token may enroll')
    .option('--ttl <duration>', 'lifetime: 90s, 15m, 2h (default 15m, at most 24h)')
    .option('--json', 'print the API response as JSON')
    .action(async (options: TokenOptions, command: Command) => {
      const body = {
        labels: parseLabels(options.labels ?? ''),
        ...(options.name !== undefined ? { name: options.name } : {}),
        ...(options.ttl !== undefined ? { ttl_seconds: parseDuration(options.ttl) } : {}),
      }
      const created = await admin(command).post<{ id: string; token: string; expires_at: string; labels: Record<string, string>; name?: string }>('/v1/hosts/join-tokens', body)
      if (options.json) return ctx.out(formatJson(created))
      ctx.out(created.token)
      ctx.err(formatFields([['id', created.id], ['expires', created.expires_at], ['labels', labelText(created.labels)], ['name', created.name ?? '(any)']]))
      ctx.err('shown once; on the host: writ host enroll --server <url> --token <token>')
    })

  host.command('list')
    .description('list enrolled hosts')
    .option('--json', 'print the API response as JSON')
    .action(async (options: JsonOption, command: Command) => {
      const body = await admin(command).get<{ hosts: Host[] }>('/v1/hosts')
      ctx.out(options.json ? formatJson(body) : formatHostList(body.hosts))
    })

  host.command('show <host>')
    .description('show one host (by name or id) and its version history')
    .option('--json', 'print the host as JSON')
    .action(async (idOrName: string, options: JsonOption, command: Command) => {
      const client = admin(command)
      const found = await client.get<Host>(hostPath(idOrName))
      if (options.json) return ctx.out(formatJson(found))
      const { versions } = await client.get<{ versions: HostVersion[] }>(hostPath(found.id, '/versions'))
      ctx.out(`${formatHost(found)}\nhistory\n${formatHostHistory(versions)}`)
    })

  host.command('label <host> <changes...>')
    .description('set labels (key=value) and remove them (key-): writ host label web-1 env=staging role-')
    .option('--json', 'print the updated host as JSON')
    .action(async (idOrName: string, changes: string[], options: JsonOption, command: Command) => {
      const set: Record<string, string> = {}
      const remove: string[] = []
      for (const change of changes) {
        if (change.endsWith('-') && !change.includes('=')) remove.push(change.slice(0, -1))
        else Object.assign(set, parseLabels(change))
      }
      const updated = await admin(command).patch<Host>(hostPath(idOrName, '/labels'), { set, remove })
      if (options.json) return ctx.out(formatJson(updated))
      ctx.out(`host \`${printable(updated.name)}\` is at version ${updated.version}: ${labelText(updated.labels) || '(no labels)'}`)
    })

  host.command('remove <host>')
    .description('remove a host for good: it can no longer authenticate, nothing more is issued for it, its name is not reused')
    .option('--reason <text>', 'why (recorded in the audit)')
    .option('--json', 'print the removed host as JSON')
    .action(async (idOrName: string, options: RemoveOptions, command: Command) => {
      const query = options.reason === undefined ? '' : `?reason=${encodeURIComponent(options.reason)}`
      const removed = await admin(command).delete<Host>(`${hostPath(idOrName)}${query}`)
      if (options.json) return ctx.out(formatJson(removed))
      ctx.out(`host \`${printable(removed.name)}\` (${printable(removed.id)}) is removed, version ${removed.version}`)
    })
}

/** `env=prod,role=web` → { env: 'prod', role: 'web' }; the server validates keys and values. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const part of text.split(',').filter((p) => p !== '')) {
    const at = part.indexOf('=')
    if (at <= 0) throw new WritError('REQUEST_INVALID', `label \`${printable(part)}\` is not key=value`)
    labels[part.slice(0, at)] = part.slice(at + 1)
  }
  return labels
}

/** `90s`, `15m`, `2h`, or plain seconds. */
export function parseDuration(text: string): number {
  const match = /^([1-9][0-9]{0,6})(s|m|h)?$/.exec(text)
  if (!match) throw new WritError('REQUEST_INVALID', `--ttl \`${printable(text)}\` is not a duration like 90s, 15m or 2h`)
  return Number(match[1]) * ({ s: 1, m: 60, h: 3600 } as const)[(match[2] ?? 's') as 's' | 'm' | 'h']
}
