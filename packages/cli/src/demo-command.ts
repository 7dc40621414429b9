/** `writ demo`: the whole story in one process, on a throwaway server: key, registration, issue, deny, suspend, audit. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { parse as parseYaml } from 'yaml'
import { createAgentClient, WritError, type AgentClient, type ErrorCode } from '@writ/sdk'
import type { Agent, AuditRecord, ChainReport, RunningServer } from '@writ/server'
import { AdminClient, agentPath } from './admin-client.js'
import { generateAgentKey } from './agent-key.js'
import { formatAuditTable, formatChainOk } from './audit-views.js'
import type { CliContext } from './cli-context.js'
import { decodeToken } from './decode-token.js'
import { DEPLOY_BOT_YAML } from './deploy-bot-document.js'
import { appendKeys, readIdentityDocument, type IdentityDocument } from './identity-document-file.js'
import { formatFields, formatJson, printable } from './output.js'

// packages/cli/dist/demo-command.js (or src/ under the tests) -> <repo>/examples/agents
const EXAMPLE = new URL('../../../examples/agents/deploy-bot.yaml', import.meta.url)
const TASK = 'T-42'

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program.command('demo')
    .description('a guided end-to-end run on a temporary server that is removed afterwards')
    .action(async () => runDemo(ctx))
}

export async function runDemo(ctx: CliContext): Promise<void> {
  const server = await import('@writ/server')
  const dataDir = mkdtempSync(join(tmpdir(), 'writ-demo-'))
  try {
    // env is empty on purpose: the demo must not pick up the user's WRIT_* settings (their storage, their ports).
    const config = server.loadConfig({ env: {}, flags: { dataDir, server: { port: 0, adminPort: 0 }, log: { level: 'warn' } } })
    const running = await server.startServer(config, server.systemClock, server.createLogger(config.log.level, server.systemClock))
    try {
      await story(running, ctx)
    } finally {
      await running.close()
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
  ctx.out('')
  ctx.out('done: the server is stopped and its temporary directory removed. Next: `npm start`, then `writ agent keygen`.')
}

async function story(running: RunningServer, ctx: CliContext): Promise<void> {
  let number = 0
  const step = (title: string) => ctx.out(`${number === 0 ? '' : '\n'}${++number}. ${title}`)
  const detail = (text: string) => ctx.out(text.split('\n').map((line) => `   ${line}`).join('\n'))

  ctx.out('writ demo: one agent, three token requests, one audit trail')
  ctx.out('')
  step('start a writ server on a temporary SQLite database')
  detail(formatFields([['public API', running.publicUrl], ['admin API', running.adminUrl]]))
  const credential = running.app.bootstrapCredential
  if (credential === undefined) throw new TypeError('a fresh data directory must produce a bootstrap credential')
  const admin = new AdminClient(running.adminUrl, credential)

  step('generate the agent\'s key pair (Ed25519; the private key never leaves the agent)')
  const key = await generateAgentKey('EdDSA')
  detail(formatFields([['kid', key.kid], ['alg', 'EdDSA']]))

  const { document, source } = deployBotDocument()
  step(`register deploy-bot from ${source}, with its public key`)
  const agent = await admin.post<Agent>('/v1/agents', appendKeys(document, [key.publicJwk as Record<string, unknown>]))
  detail(formatFields([
    ['id', agent.id], ['status', agent.status],
    ['capabilities', agent.document.capabilities.map((c) => c.id).join(', ')],
  ]))

  const client = createAgentClient({ issuer: running.app.issuer, agentId: agent.id, privateKey: key.privateJwk })
  step(`deploy-bot asks for a declared action: tests.run on repo:acme/billing (task ${TASK})`)
  const grant = await client.requestCapability({
    action: 'tests.run', resource: 'repo:acme/billing', access: 'read', taskId: TASK, stepId: '1', taskPurpose: 'run CI for the billing service',
  })
  const decoded = decodeToken(grant.accessToken)
  detail(`issued: ${grant.tokenType} token for one action, expires in ${grant.expiresIn} s (shown decoded, not the token itself)`)
  detail(`header ${formatJson(decoded.header)}`)
  detail(`claims ${formatJson(decoded.claims)}`)

  step('deploy-bot asks for an action it never declared: db.drop on db:billing')
  detail(refusalLine(await expectRefusal(client, 'db.drop', 'db:billing', 'POLICY_DENIED')))

  step('an admin suspends deploy-bot; it retries tests.run')
  const suspended = await admin.post<Agent>(agentPath(agent.id, '/suspend'))
  detail(`agent is now ${printable(suspended.status)} (version ${suspended.version})`)
  detail(refusalLine(await expectRefusal(client, 'tests.run', 'repo:acme/billing', 'AGENT_NOT_ACTIVE')))

  step('the audit trail: every registration, issue and refusal, hash-chained')
  const { records } = await admin.get<{ records: AuditRecord[] }>('/v1/audit?after=0&limit=1000')
  detail(formatAuditTable(records))

  step('verify the chain')
  const report = await admin.get<ChainReport>('/v1/audit/verify')
  if (!report.ok) {
    throw new WritError('AUDIT_CHAIN_BROKEN', `the audit chain is broken at seq ${report.firstBad?.seq}: ${report.firstBad?.reason}`)
  }
  detail(formatChainOk(report, 'online'))
}

/** The repository's example when the CLI runs from it; the embedded copy when the CLI is installed on its own. */
function deployBotDocument(): { document: IdentityDocument; source: string } {
  const file = fileURLToPath(EXAMPLE)
  if (existsSync(file)) return { document: readIdentityDocument(file), source: 'examples/agents/deploy-bot.yaml' }
  return { document: parseYaml(DEPLOY_BOT_YAML) as IdentityDocument, source: 'the built-in copy of deploy-bot.yaml' }
}

async function expectRefusal(client: AgentClient, action: string, resource: string, code: ErrorCode): Promise<WritError> {
  try {
    await client.requestCapability({ action, resource, taskId: TASK })
  } catch (error) {
    if (error instanceof WritError && error.code === code) return error
    throw error
  }
  throw new WritError('INTERNAL', `the demo expected \`${action}\` to be refused with ${code}, but a token was issued`)
}

function refusalLine(error: WritError): string {
  return `refused [${error.code}]: ${printable(error.detail)}; reasons: ${printable(error.reasons.join(', ') || '(none)')}`
}
