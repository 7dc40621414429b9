/**
 * `writ token exchange`: RFC 8693 as an agent. A grant in → a capability token (`--action`/`--resource` once) or a
 * narrower grant for a sub-agent (`--to`); a human's ID token or JWT in (`--subject-token-type id_token|jwt`) → a grant.
 */
import { InvalidArgumentError, Option, type Command } from 'commander'
import { WRIT_ACTION_TYPE, type DelegationGrant, type WritAction } from '@writ/sdk'
import type { CliContext } from './cli-context.js'
import { decodeToken, tokenSummary } from './decode-token.js'
import { formatJson, printable } from './output.js'
import { readTextFile } from './read-text-file.js'
import { agentClientFor, parseParameters, printGrant, reportPending, type AgentOptions } from './token-commands.js'

interface ExchangeOptions extends AgentOptions {
  subjectTokenFile: string
  subjectTokenType: 'grant' | 'id_token' | 'jwt'
  requested?: 'access_token' | 'grant'
  action: string[]
  resource: string[]
  access?: 'read' | 'write' | 'delete'
  parameters?: Record<string, unknown>
  task?: string
  step?: string
  purpose?: string
  audience?: string
  to?: string
  expiresIn?: number
}

export function registerTokenExchangeCommand(token: Command, ctx: CliContext): void {
  token.command('exchange')
    .description('exchange a delegation grant or a human\'s token (RFC 8693) for a capability token or a grant')
    .requiredOption('--agent <agent>', 'the acting agent\'s id or registered name (the grant\'s may_act)')
    .requiredOption('--key <file>', 'the agent\'s private JWK')
    .requiredOption('--subject-token-file <file>', 'the file holding the grant or the human\'s token (`-`: standard input)')
    .addOption(new Option('--subject-token-type <type>', 'what the subject token is').choices(['grant', 'id_token', 'jwt']).default('grant'))
    .addOption(new Option('--requested <type>', 'what to get: a capability token or a grant (default: a capability for a grant, a grant for a human token; --to implies grant)').choices(['access_token', 'grant']))
    .option('--action <action>', 'an action; once for a capability, once per entry for a grant (pairs with --resource)', collect, [])
    .option('--resource <resource>', 'the resource for the --action at the same position (a glob in a grant)', collect, [])
    .addOption(new Option('--access <access>', 'the access the action needs (capability only)').choices(['read', 'write', 'delete']))
    .option('--parameters <json>', 'action parameters as a JSON object (applies to every entry)', parseParameters)
    .option('--task <id>', 'the task (required for a human token; for a grant, must be the grant\'s)')
    .option('--step <id>', 'the step within the task (capability only)')
    .option('--purpose <text>', 'why the task is done')
    .option('--audience <aud>', 'the resource server the capability is for (RFC 8707 resource)')
    .option('--to <agent>', 'the sub-agent to delegate to (RFC 8693 audience): asks for a narrower grant')
    .option('--expires-in <seconds>', 'lifetime of the grant asked for; never past what the subject token allows', parseSeconds)
    .option('--dpop [key-file]', 'bind the capability token to a DPoP key (RFC 9449)')
    .option('--json', 'print the token response as JSON')
    .option('--decode', 'also print who the token is for (sub), the act chain, cnf, and the decoded claims')
    .action(async (_options: ExchangeOptions, command: Command) => {
      const options = command.optsWithGlobals<ExchangeOptions>()
      if (options.action.length !== options.resource.length) throw new InvalidArgumentError('give one --resource for each --action')
      const file = options.subjectTokenFile
      const subjectToken = (file === '-' ? await ctx.readSecret('subject token: ') : readTextFile(file)).trim()
      const requested = options.requested ?? (options.to !== undefined || options.subjectTokenType !== 'grant' ? 'grant' : 'access_token')
      const client = await agentClientFor(options, ctx)
      const details: WritAction[] = options.action.map((action, i) => ({
        type: WRIT_ACTION_TYPE, action, resource: options.resource[i] as string,
        ...(options.parameters ? { parameters: options.parameters } : {}), ...(options.access ? { actions: [options.access] } : {}),
      }))

      if (requested === 'access_token') {
        if (options.subjectTokenType !== 'grant') throw new InvalidArgumentError('a human token is exchanged for a grant; exchange that grant for a capability')
        const [detail] = details
        if (detail === undefined || details.length !== 1) throw new InvalidArgumentError('a capability is for exactly one --action and --resource')
        const grant = await client.exchangeGrant({
          grant: subjectToken, action: detail.action, resource: detail.resource,
          ...(detail.parameters ? { parameters: detail.parameters } : {}), ...(options.access ? { access: options.access } : {}),
          ...(options.task ? { taskId: options.task } : {}), ...(options.step ? { stepId: options.step } : {}),
          ...(options.purpose ? { taskPurpose: options.purpose } : {}), ...(options.audience ? { audience: options.audience } : {}),
        }).catch((error: unknown) => reportPending(error, options, ctx))
        return printGrant(grant, options, ctx, `\`${printable(detail.action)}\` on \`${printable(detail.resource)}\` under the grant`, await client.dpopKey())
      }

      let issued: DelegationGrant
      if (options.subjectTokenType === 'grant') {
        if (options.to === undefined) throw new InvalidArgumentError('--to names the sub-agent a grant is narrowed for')
        issued = await client.delegateGrant({
          grant: subjectToken, to: options.to, ...(details.length > 0 ? { authorizationDetails: details } : {}),
          ...(options.expiresIn ? { expiresIn: options.expiresIn } : {}),
        })
      } else {
        if (options.task === undefined) throw new InvalidArgumentError('--task is required with a human token')
        if (details.length === 0) throw new InvalidArgumentError('name what the human delegates with --action and --resource')
        issued = await client.exchangeHumanToken({
          subjectToken, subjectTokenType: options.subjectTokenType, authorizationDetails: details, taskId: options.task,
          ...(options.purpose ? { taskPurpose: options.purpose } : {}), ...(options.expiresIn ? { expiresIn: options.expiresIn } : {}),
        })
      }
      printDelegationGrant(issued, options, ctx)
    })
}

function printDelegationGrant(issued: DelegationGrant, options: ExchangeOptions, ctx: CliContext): void {
  const decoded = options.decode ? decodeToken(issued.grant) : undefined
  if (options.json) {
    return ctx.out(formatJson({
      access_token: issued.grant, issued_token_type: 'urn:writ:params:oauth:token-type:grant', token_type: 'N_A',
      expires_in: issued.expiresIn, authorization_details: issued.authorizationDetails, ...decoded,
    }))
  }
  const mayAct = decoded ? (decoded.claims.may_act as { sub?: unknown } | undefined)?.sub : undefined
  ctx.err(`issued: a delegation grant${mayAct ? ` for agent ${printable(mayAct)}` : ''}; expires in ${issued.expiresIn} s (pass it as --subject-token-file to the agent it names)`)
  ctx.out(issued.grant)
  if (decoded) {
    for (const line of tokenSummary(decoded.claims)) ctx.out(line)
    ctx.out(`header ${formatJson(decoded.header)}`)
    ctx.out(`claims ${formatJson(decoded.claims)}`)
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function parseSeconds(value: string): number {
  if (!/^[1-9]\d{0,6}$/.test(value)) throw new InvalidArgumentError('expected a number of seconds')
  return Number(value)
}
