/** `writ token request`: asks for one capability as an agent, with the agent's own private key, for testing. */
import { InvalidArgumentError, type Command } from 'commander'
import { createAgentClient, WritError, type CapabilityRequest } from '@writ/sdk'
import type { Agent } from '@writ/server'
import type { CliContext } from './cli-context.js'
import { agentPath } from './admin-client.js'
import { decodeToken } from './decode-token.js'
import { readPrivateKey } from './jwk-files.js'
import { formatJson, printable } from './output.js'
import { adminClientFor, discoverIssuer, locateServer, publicUrlOf, type GlobalOptions, type ServerLocation } from './server-locator.js'

interface RequestOptions extends GlobalOptions {
  agent: string
  key: string
  action: string
  resource: string
  task: string
  step?: string
  purpose?: string
  audience?: string
  parameters?: Record<string, unknown>
  json?: boolean
  decode?: boolean
}

const AGENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function registerTokenCommands(program: Command, ctx: CliContext): void {
  const token = program.command('token').description('request capability tokens as an agent')
  token.command('request')
    .description('request a token for one action on one resource, signed with the agent\'s private key')
    .requiredOption('--agent <agent>', 'agent id (a name works when the admin API is reachable)')
    .requiredOption('--key <file>', 'the agent\'s private JWK (from `writ agent keygen`)')
    .requiredOption('--action <action>', 'the action, e.g. deploy.run')
    .requiredOption('--resource <resource>', 'the resource, e.g. service:billing')
    .requiredOption('--task <id>', 'the task this action belongs to')
    .option('--step <id>', 'the step within the task')
    .option('--purpose <text>', 'why the task is done')
    .option('--audience <aud>', 'the resource server the token is for (RFC 8707 resource)')
    .option('--parameters <json>', 'action parameters as a JSON object', parseParameters)
    .option('--json', 'print the token response as JSON')
    .option('--decode', 'also print the decoded header and claims')
    .action(async (_options: RequestOptions, command: Command) => {
      const options = command.optsWithGlobals<RequestOptions>()
      const location = locateServer(options, ctx.env)
      const publicUrl = publicUrlOf(location)
      const privateKey = readPrivateKey(options.key)
      const agentId = await resolveAgentId(options.agent, location)
      const issuer = await discoverIssuer(publicUrl)
      const request: CapabilityRequest = { action: options.action, resource: options.resource, taskId: options.task }
      if (options.step !== undefined) request.stepId = options.step
      if (options.purpose !== undefined) request.taskPurpose = options.purpose
      if (options.audience !== undefined) request.audience = options.audience
      if (options.parameters !== undefined) request.parameters = options.parameters

      const grant = await createAgentClient({ issuer, agentId, privateKey }).requestCapability(request)
      // Printing the token is deliberate: the user asked for it with the agent's own key, to try it against a resource.
      const decoded = options.decode ? decodeToken(grant.accessToken) : undefined
      if (options.json) {
        return ctx.out(formatJson({
          access_token: grant.accessToken, token_type: grant.tokenType, expires_in: grant.expiresIn,
          authorization_details: grant.authorizationDetails, ...decoded,
        }))
      }
      ctx.err(`issued: \`${printable(options.action)}\` on \`${printable(options.resource)}\` for task \`${printable(options.task)}\`; expires in ${grant.expiresIn} s`)
      ctx.out(grant.accessToken)
      if (decoded) {
        ctx.out(`header ${formatJson(decoded.header)}`)
        ctx.out(`claims ${formatJson(decoded.claims)}`)
      }
    })
}

/** Agents sign as their id; a name is looked up through the admin API when one is configured. */
async function resolveAgentId(agent: string, location: ServerLocation): Promise<string> {
  if (AGENT_ID.test(agent)) return agent
  if (location.adminUrl === undefined || location.adminToken === undefined) {
    throw new WritError('AGENT_NOT_FOUND', `\`${agent}\` is not an agent id, and no admin API is configured to look the name up; pass the agent id`)
  }
  return (await adminClientFor(location).get<Agent>(agentPath(agent))).id
}

function parseParameters(value: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    throw new InvalidArgumentError('expected a JSON object')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError('expected a JSON object')
  return parsed as Record<string, unknown>
}
