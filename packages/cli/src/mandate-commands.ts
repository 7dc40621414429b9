/** `writ mandate grant|list|show|revoke`: standing delegation grants from a human to an agent (docs/delegation.md). */
import { writeFileSync } from 'node:fs'
import { InvalidArgumentError, type Command } from 'commander'
import type { GrantView } from '@writ/server'
import type { CliContext } from './cli-context.js'
import { formatFields, formatJson, formatTable, printable } from './output.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'

interface GrantOptions {
  human: string
  agent: string
  action: string[]
  resource: string[]
  task: string
  purpose?: string
  until?: number
  out?: string
  json?: boolean
}

export function registerMandateCommands(program: Command, ctx: CliContext): void {
  const mandate = program.command('mandate').description('standing delegation grants: a human lets an agent act for them')
  const client = (command: Command) => adminClientFor(locateServer(command.optsWithGlobals<GlobalOptions>(), ctx.env))

  mandate.command('grant')
    .description('let an agent act for a human on a task; the grant (a JWT for the agent) is printed once')
    .requiredOption('--human <id>', 'the human whose authority it is (e.g. alice@example.com)')
    .requiredOption('--agent <id-or-name>', 'the agent that may use it')
    .requiredOption('--action <action>', 'an action the agent declares; repeat for several (pairs with --resource in order)', collect, [])
    .requiredOption('--resource <glob>', "the resource for the --action at the same position; '*' is a wildcard ('service:*')", collect, [])
    .requiredOption('--task <id>', 'the task the grant is for')
    .option('--purpose <text>', 'what the task is for, in words')
    .option('--until <duration>', 'lifetime: 90s, 30m, 2h or 1d (default: the server\'s delegation.grantTtlSeconds)', parseDuration)
    .option('--out <file>', 'write the grant to <file> (created 0600) instead of printing it')
    .option('--json', 'print the API response (with the grant) as JSON')
    .action(async (options: GrantOptions, command: Command) => {
      if (options.action.length !== options.resource.length) throw new InvalidArgumentError('give one --resource for each --action')
      const created = await client(command).post<GrantView & { grant: string }>('/v1/grants', {
        human: options.human,
        agent: options.agent,
        authorization_details: options.action.map((action, i) => ({ type: 'writ_action', action, resource: options.resource[i] })),
        task: { id: options.task, ...(options.purpose ? { purpose: options.purpose } : {}) },
        ...(options.until ? { expires_in: options.until } : {}),
      })
      if (options.out !== undefined) {
        // A credential: the file is the agent's alone, created 0600 and never overwritten.
        writeFileSync(options.out, `${created.grant}\n`, { mode: 0o600, flag: 'wx' })
      }
      if (options.json) return ctx.out(formatJson(options.out === undefined ? created : { ...created, grant: undefined, grant_file: options.out }))
      ctx.out(`mandate ${printable(created.jti)}: ${printable(created.subject)} → agent ${printable(created.may_act)}, task ${printable(created.task.id)}, until ${created.expires_at}`)
      if (options.out !== undefined) return ctx.out(`grant written to ${printable(options.out)} (0600); give it to the agent as its subject_token`)
      // The one place the grant is printed: the server keeps the record, never the JWT.
      ctx.out('grant (shown once; give it to the agent as its subject_token):')
      ctx.out(`  ${printable(created.grant)}`)
    })

  mandate.command('list')
    .description('list delegation grants: mandates, and with --all the grants derived from them and from human tokens')
    .option('--agent <id>', 'only grants this agent may use')
    .option('--human <id>', 'only grants of this human')
    .option('--all', 'every kind of grant, not only mandates')
    .option('--json', 'print the API response as JSON')
    .action(async (options: { agent?: string; human?: string; all?: boolean; json?: boolean }, command: Command) => {
      const query = new URLSearchParams()
      if (!options.all) query.set('kind', 'mandate')
      if (options.agent) query.set('agent', options.agent)
      if (options.human) query.set('human', options.human)
      const body = await client(command).get<{ grants: GrantView[] }>(`/v1/grants?${query.toString()}`)
      ctx.out(options.json ? formatJson(body) : formatGrantList(body.grants))
    })

  mandate.command('show <jti>')
    .description('show one grant and every grant derived from it')
    .option('--json', 'print the API response as JSON')
    .action(async (jti: string, options: { json?: boolean }, command: Command) => {
      const grant = await client(command).get<GrantView & { derived: GrantView[] }>(`/v1/grants/${encodeURIComponent(jti)}`)
      if (options.json) return ctx.out(formatJson(grant))
      ctx.out(formatFields([
        ['jti', grant.jti], ['kind', grant.kind], ['human', grant.subject], ['agent', grant.may_act],
        ['chain', grant.act.length === 0 ? '-' : grant.act.join(' ← ')], ['depth', String(grant.depth)],
        ['task', grant.task.id], ['actions', grant.authorization_details.map((d) => `${d.action} on ${d.resource}`).join(', ')],
        ['parent', grant.parent ?? '-'], ['created', `${grant.created_at} by ${grant.created_by}`], ['expires', grant.expires_at],
        ['revoked', grant.revoked_at === null ? '-' : `${grant.revoked_at} by ${grant.revoked_by ?? '?'}`],
      ]))
      ctx.out(grant.derived.length === 0 ? '(nothing derived from it)' : `derived:\n${formatGrantList(grant.derived)}`)
    })

  mandate.command('revoke <jti>')
    .description('revoke a grant: it and every grant and token derived from it are refused from now on')
    .option('--json', 'print the revoked grant as JSON')
    .action(async (jti: string, options: { json?: boolean }, command: Command) => {
      const revoked = await client(command).post<GrantView>(`/v1/grants/${encodeURIComponent(jti)}/revoke`)
      if (options.json) return ctx.out(formatJson(revoked))
      ctx.out(`revoked grant ${printable(revoked.jti)} (${printable(revoked.subject)} → ${printable(revoked.may_act)}); it and everything derived from it are refused from now on`)
    })
}

function formatGrantList(grants: readonly GrantView[]): string {
  if (grants.length === 0) return '(no grants)'
  return formatTable(['JTI', 'KIND', 'HUMAN', 'AGENT', 'DEPTH', 'TASK', 'ACTIONS', 'EXPIRES', 'REVOKED'], grants.map((g) => [
    g.jti, g.kind, g.subject, g.may_act, String(g.depth), g.task.id,
    g.authorization_details.map((d) => `${d.action}@${d.resource}`).join(','), g.expires_at.slice(0, 16).replace('T', ' '),
    g.revoked_at === null ? '-' : g.revoked_at.slice(0, 16).replace('T', ' '),
  ]))
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

/** `90s`, `30m`, `2h`, `1d` (or plain seconds) → seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d{1,7})([smhd]?)$/.exec(value.trim())
  if (!match) throw new InvalidArgumentError('a duration is a number with s, m, h or d (e.g. 2h)')
  const unit = { '': 1, s: 1, m: 60, h: 3_600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd']
  return Number(match[1]) * unit
}
