/** `writ revoke token|task|grant|agent|key <id> --reason ...` and `writ agent kill <id> --reason ...` (the kill switch). */
import type { Command } from 'commander'
import type { RevocationView } from '@writ/server'
import type { CliContext } from './cli-context.js'
import { formatJson, formatTable, printable } from './output.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'

interface RevokeOptions extends GlobalOptions { reason: string; json?: boolean }

interface RevocationResponse {
  revocation: RevocationView
  events: Array<{ id: number; kind: string }>
}

const TARGETS = {
  token: { member: 'jti', argument: '<jti>', description: 'revoke one token by its jti (never by the token itself)' },
  task: { member: 'task_id', argument: '<task-id>', description: 'revoke a task: every token of it is refused, and nothing more is issued for it' },
  grant: { member: 'jti', argument: '<jti>', description: 'revoke a delegation grant or mandate and everything derived from it' },
  agent: { member: 'agent_id', argument: '<agent>', description: 'the kill switch: suspend the agent, revoke its grants, and have verifiers refuse its tokens' },
  key: { member: 'kid', argument: '<kid>', description: 'revoke a signing key: it leaves the JWKS and every token it signed is refused' },
} as const

export function registerRevokeCommands(program: Command, ctx: CliContext): void {
  const client = (command: Command) => adminClientFor(locateServer(command.optsWithGlobals<GlobalOptions>(), ctx.env))
  const run = async (kind: keyof typeof TARGETS, value: string, options: RevokeOptions, command: Command) => {
    const body = await client(command).post<RevocationResponse>('/v1/revocations', { kind, [TARGETS[kind].member]: value, reason: options.reason })
    if (options.json) return ctx.out(formatJson(body))
    const r = body.revocation
    ctx.out(`revoked ${r.kind} ${printable(r.target)} (revocation ${printable(r.id)}); ${describeCovers(r)}`)
    ctx.out(`verifiers learn of it through ${body.events.length === 1 ? 'event' : 'events'} ${body.events.map((e) => e.id).join(', ')}; kept until ${r.forget_after}`)
  }

  const revoke = program.command('revoke').description('revoke a token, task, grant, agent or signing key (audited; pushed to subscribed verifiers)')
  for (const [kind, target] of Object.entries(TARGETS) as Array<[keyof typeof TARGETS, (typeof TARGETS)[keyof typeof TARGETS]]>) {
    revoke.command(`${kind} ${target.argument}`)
      .description(target.description)
      .requiredOption('--reason <text>', 'why (recorded in the audit log; up to 500 characters)')
      .option('--json', 'print the API response as JSON')
      .action((value: string, options: RevokeOptions, command: Command) => run(kind, value, options, command))
  }
  revoke.command('list')
    .description('list revocations, newest first')
    .option('--kind <kind>', 'only this kind: token, task, grant, agent or key')
    .option('--json', 'print the API response as JSON')
    .action(async (options: { kind?: string; json?: boolean }, command: Command) => {
      const body = await client(command).get<{ revocations: RevocationView[] }>(`/v1/revocations${options.kind ? `?kind=${encodeURIComponent(options.kind)}` : ''}`)
      if (options.json) return ctx.out(formatJson(body))
      ctx.out(body.revocations.length === 0 ? '(no revocations)' : formatTable(['ID', 'KIND', 'TARGET', 'BY', 'AT', 'REASON'], body.revocations.map((r) => [
        r.id, r.kind, r.target, `${r.actor.kind}:${r.actor.id}`, r.revoked_at.slice(0, 19).replace('T', ' '), r.reason,
      ])))
    })

  // `writ agent kill` is `writ revoke agent`, where an operator looks for it first.
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent')
  agent.command('kill <agent>')
    .description('the kill switch: suspend the agent at once, revoke every grant it holds or appears in, and have verifiers refuse its tokens')
    .requiredOption('--reason <text>', 'why (recorded in the audit log; up to 500 characters)')
    .option('--json', 'print the API response as JSON')
    .action((value: string, options: RevokeOptions, command: Command) => run('agent', value, options, command))
}

function describeCovers(r: RevocationView): string {
  const c = r.covers
  switch (r.kind) {
    case 'agent': return `${c.suspended ? 'agent suspended' : `agent was already ${String(c.status_before)}`}, ${(c.grants as unknown[] | undefined)?.length ?? 0} grant(s) revoked`
    case 'grant': return `${(c.descendants as unknown[] | undefined)?.length ?? 0} derived grant(s) revoked with it`
    case 'key': return c.rotated_to ? `it was the current key; ${printable(String(c.rotated_to))} signs from now on` : 'it no longer appears in the JWKS'
    case 'task': return 'nothing more is issued for it'
    case 'token': return c.known === false ? 'no token with this jti was issued here; it is refused anyway' : `a token of agent ${printable(String(c.agent_id))}`
  }
}
