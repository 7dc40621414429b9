/** `writ token request` and `poll`: ask for one capability as an agent, with the agent's own private key, waiting for a human when held. */
import { InvalidArgumentError, Option, type Command } from 'commander'
import {
  createAgentClient, pendingInfo, WritError,
  type AgentClient, type ApprovalPendingInfo, type CapabilityGrant, type CapabilityRequest, type DpopKey,
} from '@writ/sdk'
import type { CliContext } from './cli-context.js'
import { decodeToken, tokenSummary } from './decode-token.js'
import { readPrivateKey } from './jwk-files.js'
import { formatJson, printable } from './output.js'
import { CommandExit, EXIT_PENDING } from './report-error.js'
import { discoverIssuer, locateServer, publicUrlOf, type GlobalOptions } from './server-locator.js'
import { registerTokenExchangeCommand } from './token-exchange-command.js'

export interface AgentOptions extends GlobalOptions {
  agent: string
  key: string
  json?: boolean
  decode?: boolean
  /** true: a key for this command only; a string: the private JWK file of the DPoP key. */
  dpop?: true | string
}

interface RequestOptions extends AgentOptions {
  action: string
  resource: string
  task: string
  step?: string
  purpose?: string
  audience?: string
  access?: 'read' | 'write' | 'delete'
  parameters?: Record<string, unknown>
  /** true: until the held request expires or is decided; a number: at most that many seconds. */
  wait?: true | number
}

const EXIT_CODES = `
Exit codes:
  0  the token was issued (printed on stdout)
  1  denied, or an error
  2  usage error
  3  pending: the request waits for a human approval; its auth_req_id is printed on stdout
     (an approver runs \`writ approvals approve <auth_req_id>\`; then \`writ token poll <auth_req_id>\`)`

export function registerTokenCommands(program: Command, ctx: CliContext): void {
  const token = program.command('token').description('request capability tokens as an agent, or exchange a grant or a human token')
  token.command('request')
    .description('request a token for one action on one resource, signed with the agent\'s private key')
    .requiredOption('--agent <agent>', 'the agent\'s id or registered name')
    .requiredOption('--key <file>', 'the agent\'s private JWK (from `writ agent keygen`)')
    .requiredOption('--action <action>', 'the action, e.g. deploy.run')
    .requiredOption('--resource <resource>', 'the resource, e.g. service:billing')
    .requiredOption('--task <id>', 'the task this action belongs to')
    .option('--step <id>', 'the step within the task')
    .option('--purpose <text>', 'why the task is done')
    .option('--audience <aud>', 'the resource server the token is for (RFC 8707 resource)')
    .addOption(new Option('--access <access>', 'the access the action needs on the resource (default: inferred from the action)').choices(['read', 'write', 'delete']))
    .option('--parameters <json>', 'action parameters as a JSON object', parseParameters)
    .option('--wait [seconds]', 'when held for a human, poll until approved (at most <seconds>; default: until it expires)', parseSeconds)
    .option('--dpop [key-file]', 'bind the token to a DPoP key (RFC 9449): the private JWK in <key-file> (e.g. from `writ agent keygen`), or a key made for this command')
    .option('--json', 'print the token response as JSON')
    .option('--decode', 'also print the decoded header and claims')
    .addHelpText('after', EXIT_CODES)
    .action(async (_options: RequestOptions, command: Command) => {
      const options = command.optsWithGlobals<RequestOptions>()
      const client = await agentClientFor(options, ctx)
      const request: CapabilityRequest = { action: options.action, resource: options.resource, taskId: options.task }
      if (options.step !== undefined) request.stepId = options.step
      if (options.purpose !== undefined) request.taskPurpose = options.purpose
      if (options.audience !== undefined) request.audience = options.audience
      if (options.access !== undefined) request.access = options.access
      if (options.parameters !== undefined) request.parameters = options.parameters
      const what = `\`${printable(options.action)}\` on \`${printable(options.resource)}\``

      const waitForApproval = options.wait === undefined ? undefined : {
        timeoutMs: options.wait === true ? Number.POSITIVE_INFINITY : options.wait * 1000,
        onPending: (info: ApprovalPendingInfo) => {
          ctx.err(`held for a human approval: ${what} (auth_req_id ${printable(info.authReqId)}, expires in ${info.expiresIn} s)`)
          ctx.err(`  an approver runs: writ approvals approve ${printable(info.authReqId)}`)
          ctx.err(`  waiting${options.wait === true ? '' : ` up to ${options.wait as number} s`}, polling every ${info.interval} s ...`)
        },
      }
      const grant = await client.requestCapability(request, waitForApproval === undefined ? {} : { waitForApproval })
        .catch((error: unknown) => reportPending(error, options, ctx))
      printGrant(grant, options, ctx, `${what} for task \`${printable(options.task)}\``, await client.dpopKey())
    })

  token.command('poll <auth_req_id>')
    .description('ask once for the token of a request that was held for a human approval (CIBA poll)')
    .requiredOption('--agent <agent>', 'the agent\'s id or registered name')
    .requiredOption('--key <file>', 'the agent\'s private JWK')
    .option('--dpop [key-file]', 'bind the token to a DPoP key (RFC 9449): the private JWK in <key-file> (e.g. from `writ agent keygen`), or a key made for this command')
    .option('--json', 'print the token response as JSON')
    .option('--decode', 'also print the decoded header and claims')
    .addHelpText('after', EXIT_CODES.replace('; its auth_req_id is printed on stdout', ' still (or poll slower)'))
    .action(async (authReqId: string, _options: AgentOptions, command: Command) => {
      const options = command.optsWithGlobals<AgentOptions>()
      const client = await agentClientFor(options, ctx)
      const grant = await client.pollApproval(authReqId).catch((error: unknown) => reportPending(error, options, ctx))
      printGrant(grant, options, ctx, `the approved request \`${printable(authReqId)}\``, await client.dpopKey())
    })

  registerTokenExchangeCommand(token, ctx)
}

export async function agentClientFor(options: AgentOptions, ctx: CliContext): Promise<AgentClient> {
  const location = locateServer(options, ctx.env)
  const publicUrl = publicUrlOf(location)
  const privateKey = readPrivateKey(options.key)
  const issuer = await discoverIssuer(publicUrl, location.sources.publicUrl)
  // The token endpoint takes the agent's id or its registered name, so no admin API is needed here.
  const dpop = options.dpop === undefined ? undefined : options.dpop === true ? true : readPrivateKey(options.dpop)
  return createAgentClient({ issuer, agent: options.agent, privateKey, ...(dpop !== undefined ? { dpop } : {}) })
}

/** A held request is not a failure: say how to get it decided, print its auth_req_id for scripts, and exit 3. */
export function reportPending(error: unknown, options: AgentOptions, ctx: CliContext): never {
  const pending = error instanceof WritError && (error.code === 'APPROVAL_PENDING' || error.code === 'APPROVAL_SLOW_DOWN') ? error : undefined
  const info = pending && pendingInfo(pending)
  if (pending === undefined || (pending.code === 'APPROVAL_PENDING' && info === undefined)) throw error
  if (options.json) {
    ctx.out(formatJson({ ...pending.toOAuth(), ...(info ? { expires_in: info.expiresIn, interval: info.interval } : {}) }))
    throw new CommandExit(EXIT_PENDING)
  }
  ctx.err(`pending: ${printable(pending.detail)} [${pending.code}]`)
  for (const reason of pending.reasons) ctx.err(`  - ${printable(reason)}`)
  if (info !== undefined) {
    ctx.err(`an approver runs: writ approvals approve ${printable(info.authReqId)}   (expires in ${info.expiresIn} s)`)
    ctx.err(`then the agent polls: writ token poll ${printable(info.authReqId)} --agent ${printable(options.agent)} --key ${printable(options.key)}`)
    ctx.out(printable(info.authReqId))
  }
  throw new CommandExit(EXIT_PENDING)
}

export function printGrant(grant: CapabilityGrant, options: AgentOptions, ctx: CliContext, what: string, dpopKey: DpopKey | undefined): void {
  // Printing the token is deliberate: the user asked for it with the agent's own key, to try it against a resource.
  const decoded = options.decode ? decodeToken(grant.accessToken) : undefined
  if (options.json) {
    return ctx.out(formatJson({
      access_token: grant.accessToken, token_type: grant.tokenType, expires_in: grant.expiresIn,
      authorization_details: grant.authorizationDetails, ...(dpopKey ? { dpop_jkt: dpopKey.jkt } : {}), ...decoded,
    }))
  }
  ctx.err(`issued: ${what}; expires in ${grant.expiresIn} s`)
  if (dpopKey) {
    // A key made for this command dies with it: the token is then usable by nobody, which is only good for a look.
    ctx.err(`bound to the DPoP key ${dpopKey.jkt}${options.dpop === true ? ' (made for this command only; pass --dpop <key-file> to keep using the token)' : ''}`)
  }
  ctx.out(grant.accessToken)
  if (decoded) {
    for (const line of tokenSummary(decoded.claims)) ctx.out(line)
    ctx.out(`header ${formatJson(decoded.header)}`)
    ctx.out(`claims ${formatJson(decoded.claims)}`)
  }
}

export function parseParameters(value: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    throw new InvalidArgumentError('expected a JSON object')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError('expected a JSON object')
  return parsed as Record<string, unknown>
}

function parseSeconds(value: string): number {
  if (!/^\d{1,6}$/.test(value)) throw new InvalidArgumentError('expected a number of seconds')
  return Number(value)
}
