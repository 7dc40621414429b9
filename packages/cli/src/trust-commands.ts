/** `writ trust list`: the outside identity providers the server trusts (workload providers and human issuers). */
import type { Command } from 'commander'
import type { CliContext } from './cli-context.js'
import { formatJson, formatTable } from './output.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'

interface TrustView {
  providers: Array<{ name: string; issuer: string; audience: string; kind: string; single_use: boolean; max_lifetime_seconds: number }>
  human_issuers: Array<{ issuer: string; audience: string; user_claim: string; groups_claim: string | null; max_lifetime_seconds: number }>
}

export function registerTrustCommands(program: Command, ctx: CliContext): void {
  const trust = program.command('trust').description('show the identity providers the server trusts (configured in trust.*)')
  trust.command('list')
    .description('list trust providers (workload identity federation) and human issuers')
    .option('--json', 'print the API response as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const body = await adminClientFor(locateServer(command.optsWithGlobals<GlobalOptions>(), ctx.env)).get<TrustView>('/v1/trust')
      if (options.json) return ctx.out(formatJson(body))
      ctx.out('providers')
      ctx.out(formatTable(['NAME', 'KIND', 'ISSUER', 'AUDIENCE', 'SINGLE USE', 'MAX LIFETIME'],
        body.providers.map((p) => [p.name, p.kind, p.issuer, p.audience, p.single_use ? 'yes' : 'no', `${p.max_lifetime_seconds}s`])))
      ctx.out('human issuers')
      ctx.out(formatTable(['ISSUER', 'AUDIENCE', 'USER CLAIM', 'GROUPS CLAIM', 'MAX LIFETIME'],
        body.human_issuers.map((h) => [h.issuer, h.audience, h.user_claim, h.groups_claim ?? '', `${h.max_lifetime_seconds}s`])))
    })
}
