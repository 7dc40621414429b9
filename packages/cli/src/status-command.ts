/** `writ status`: is the server up, and what an operator must know (audit chain and its self-check, key, policy). */
import type { Command } from 'commander'
import { WritError } from '@writ/sdk'
import type { ServerStatus } from '@writ/server'
import type { CliContext } from './cli-context.js'
import { formatJson } from './output.js'
import { CommandExit, EXIT_FAILURE } from './report-error.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'
import { formatStatus } from './status-views.js'

interface StatusOptions extends GlobalOptions { json?: boolean }

export function registerStatusCommand(program: Command, ctx: CliContext): void {
  program.command('status')
    .description('show whether the server answers, its audit chain and self-check, signing key and policy set (exit 1 when unreachable or the chain is broken)')
    .option('--json', 'print the status as JSON (`reachable: false` and exit 1 when the server does not answer)')
    .action(async (_options: StatusOptions, command: Command) => {
      const options = command.optsWithGlobals<StatusOptions>()
      const location = locateServer(options, ctx.env)
      let status: ServerStatus
      try {
        status = await adminClientFor(location).get<ServerStatus>('/v1/status')
      } catch (error) {
        const unreachable = error instanceof WritError && error.code === 'SERVER_UNAVAILABLE'
        if (!options.json || !unreachable) throw error
        // Scripts read stdout: the answer is still a status, with the reason.
        ctx.out(formatJson({ reachable: false, admin_url: location.adminUrl ?? null, error: { code: error.code, detail: error.detail } }))
        throw new CommandExit(EXIT_FAILURE)
      }
      const adminUrl = location.adminUrl as string
      ctx.out(options.json ? formatJson({ reachable: true, admin_url: adminUrl, ...status }) : formatStatus(status, adminUrl))
      const { self_check: check } = status.audit
      if (check.state === 'broken') {
        throw new WritError('AUDIT_CHAIN_BROKEN', `the server found its audit chain broken at seq ${check.first_bad?.seq ?? '?'}: ${check.first_bad?.reason ?? 'unknown reason'}; \`writ audit verify\` names it, and issuance is ${status.audit.issuance}`)
      }
    })
}
