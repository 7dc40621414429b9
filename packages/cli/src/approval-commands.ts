/** `writ approvals ...`: approvers list, inspect, approve and deny capability requests held for a human. */
import { Option, type Command } from 'commander'
import type { Agent } from '@writ/server'
import { agentPath, type AdminClient } from './admin-client.js'
import type { CliContext } from './cli-context.js'
import { formatApproval, formatApprovalList, formatDecision, type AgentNames, type Approval } from './approval-views.js'
import { formatJson } from './output.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'

interface JsonOption extends GlobalOptions { json?: boolean }
interface ListOptions extends JsonOption { status: string; agent?: string }

// What the admin API filters on; `expired` and `all` are filtered here from the unfiltered list.
const SERVER_STATUSES = new Set(['pending', 'approved', 'denied', 'consumed'])
const AGENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function registerApprovalCommands(program: Command, ctx: CliContext): void {
  const approvals = program.command('approvals').description('decide capability requests held for a human approval')
  const admin = (command: Command) => adminClientFor(locateServer(command.optsWithGlobals<GlobalOptions>(), ctx.env))

  approvals.command('list')
    .description('list held requests (by default those still waiting for a decision)')
    .addOption(new Option('--status <status>', 'which requests').choices(['pending', 'approved', 'denied', 'consumed', 'expired', 'all']).default('pending'))
    .option('--agent <agent>', 'only this agent\'s requests (id or name)')
    .option('--json', 'print the API response as JSON')
    .action(async (options: ListOptions, command: Command) => {
      const client = admin(command)
      const query = new URLSearchParams()
      if (SERVER_STATUSES.has(options.status)) query.set('status', options.status)
      if (options.agent !== undefined) query.set('agent', await agentId(client, options.agent))
      const suffix = query.toString() === '' ? '' : `?${query.toString()}`
      let { approvals: list } = await client.get<{ approvals: Approval[] }>(`/v1/approvals${suffix}`)
      if (options.status === 'expired') list = list.filter((a) => a.status === 'expired')
      if (options.json) return ctx.out(formatJson({ approvals: list }))
      ctx.out(formatApprovalList(list, await agentNames(client, list), ctx.clock.nowMs()))
    })

  approvals.command('show <auth_req_id>')
    .description('show one held request: what exactly would be approved, why it was held, who may decide')
    .option('--json', 'print the approval as JSON')
    .action(async (authReqId: string, options: JsonOption, command: Command) => {
      const client = admin(command)
      const approval = await client.get<Approval>(approvalPath(authReqId))
      ctx.out(options.json ? formatJson(approval) : formatApproval(approval, await agentNames(client, [approval]), ctx.clock.nowMs()))
    })

  const verdicts = {
    approve: 'approve a held request: the agent gets its token, once, on its next poll',
    deny: 'deny a held request: the agent\'s next poll gets access_denied',
  } as const
  for (const [verdict, description] of Object.entries(verdicts)) {
    approvals.command(`${verdict} <auth_req_id>`)
      .description(description)
      .option('--note <text>', 'why (kept with the decision and in the audit log)')
      .option('--json', 'print the decided approval as JSON')
      .action(async (authReqId: string, options: JsonOption & { note?: string }, command: Command) => {
        const client = admin(command)
        const body = options.note === undefined ? undefined : { note: options.note }
        const decided = await client.post<Approval>(approvalPath(authReqId, `/${verdict}`), body)
        if (options.json) return ctx.out(formatJson(decided))
        ctx.out(formatDecision(decided, await agentNames(client, [decided])))
      })
  }
}

function approvalPath(authReqId: string, suffix = ''): string {
  return `/v1/approvals/${encodeURIComponent(authReqId)}${suffix}`
}

async function agentId(client: AdminClient, idOrName: string): Promise<string> {
  return AGENT_ID.test(idOrName) ? idOrName : (await client.get<Agent>(agentPath(idOrName))).id
}

/** Names make the list readable; without them (registry unreadable) the ids still say everything. */
async function agentNames(client: AdminClient, approvals: readonly Approval[]): Promise<AgentNames> {
  if (approvals.length === 0) return new Map()
  try {
    const { agents } = await client.get<{ agents: Agent[] }>('/v1/agents')
    return new Map(agents.map((agent) => [agent.id, agent.name]))
  } catch {
    return new Map()
  }
}
