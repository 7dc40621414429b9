/** `writ demo`: the whole story in one process, on a throwaway server: key, registration, issue, deny, suspend, audit. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import { parse as parseYaml } from 'yaml'
import { createAgentClient, WritError, type AgentClient, type ErrorCode } from '@writ/sdk'
import type { Agent, AuditRecord, ChainReport, RunningServer } from '@writ/server'
import { AdminClient, agentPath } from './admin-client.js'
import { generateAgentKey } from './agent-key.js'
import { formatAuditTable, formatChainOk } from './audit-views.js'
import type { CliContext } from './cli-context.js'
import { decodeToken } from './decode-token.js'
import { EXAMPLE_AGENTS } from './example-agents.js'
import { appendKeys, type IdentityDocument } from './identity-document-file.js'
import { formatFields, formatJson, printable } from './output.js'

const TASK = 'T-42'

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program.command('demo')
    .description('a guided end-to-end run on a temporary server that is removed afterwards')
    .option('--json', 'print one JSON document with every step and its data (decoded claims, refusals, audit records)')
    .action(async (options: { json?: boolean }) => runDemo(ctx, options.json === true))
}

/** One step of the story: a title, the lines people read, and the data behind them for --json. */
interface Step {
  title: string
  text: string[]
  data: Record<string, unknown>
}

/** Prints each step as it happens (text), or collects them for one JSON document at the end. */
class Narrator {
  readonly steps: Step[] = []
  constructor(private readonly ctx: CliContext, private readonly json: boolean) {}

  intro(line: string): void {
    if (!this.json) this.ctx.out(line)
  }

  step(title: string, data: Record<string, unknown>, ...text: string[]): void {
    this.steps.push({ title, text, data })
    if (this.json) return
    this.ctx.out(`${this.steps.length === 1 ? '' : '\n'}${this.steps.length}. ${title}`)
    for (const block of text) this.ctx.out(block.split('\n').map((line) => `   ${line}`).join('\n'))
  }
}

export async function runDemo(ctx: CliContext, json = false): Promise<void> {
  const server = await import('@writ/server')
  const dataDir = mkdtempSync(join(tmpdir(), 'writ-demo-'))
  try {
    // env is empty on purpose: the demo must not pick up the user's WRIT_* settings (their storage, their ports).
    const config = server.loadConfig({ env: {}, flags: { dataDir, server: { port: 0, adminPort: 0 }, log: { level: 'warn' } } })
    const running = await server.startServer(config, server.systemClock, server.createLogger(config.log.level, server.systemClock))
    const narrator = new Narrator(ctx, json)
    try {
      await story(running, narrator)
    } finally {
      await running.close()
    }
    if (json) {
      ctx.out(formatJson({ steps: narrator.steps.map((step, index) => ({ step: index + 1, title: step.title, ...step.data })), server_removed: true }))
      return
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
  ctx.out('')
  ctx.out('done: the server is stopped and its temporary directory removed. Next: `npm start`, then `writ agent init --example deploy-bot > agent.yaml`.')
}

async function story(running: RunningServer, narrator: Narrator): Promise<void> {
  narrator.intro('writ demo: one agent, three token requests, one audit trail')
  narrator.intro('')
  narrator.step('start a writ server on a temporary SQLite database', { public_url: running.publicUrl, admin_url: running.adminUrl },
    formatFields([['public API', running.publicUrl], ['admin API', running.adminUrl]]))
  const credential = running.app.bootstrapCredential
  if (credential === undefined) throw new TypeError('a fresh data directory must produce a bootstrap credential')
  const admin = new AdminClient(running.adminUrl, credential)

  const key = await generateAgentKey('EdDSA')
  narrator.step('generate the agent\'s key pair (Ed25519; the private key never leaves the agent)', { kid: key.kid, alg: 'EdDSA' },
    formatFields([['kid', key.kid], ['alg', 'EdDSA']]))

  // The embedded copy of examples/agents/deploy-bot.yaml (kept byte-equal by a test), so the demo runs when installed alone.
  const document = parseYaml(EXAMPLE_AGENTS['deploy-bot']) as IdentityDocument
  const source = 'examples/agents/deploy-bot.yaml'
  const agent = await admin.post<Agent>('/v1/agents', appendKeys(document, [key.publicJwk as Record<string, unknown>]))
  const capabilities = agent.document.capabilities.map((c) => c.id)
  narrator.step(`register deploy-bot from ${source}, with its public key`, { agent: { id: agent.id, name: agent.name, status: agent.status, capabilities }, source },
    formatFields([['id', agent.id], ['status', agent.status], ['capabilities', capabilities.join(', ')]]))

  const client = createAgentClient({ issuer: running.app.issuer, agentId: agent.id, privateKey: key.privateJwk })
  const grant = await client.requestCapability({
    action: 'tests.run', resource: 'repo:acme/billing', access: 'read', taskId: TASK, stepId: '1', taskPurpose: 'run CI for the billing service',
  })
  const decoded = decodeToken(grant.accessToken)
  // The token itself is never shown, not even in JSON: a demo's output ends up in screenshots and logs.
  narrator.step(`deploy-bot asks for a declared action: tests.run on repo:acme/billing (task ${TASK})`,
    { issued: { token_type: grant.tokenType, expires_in: grant.expiresIn, header: decoded.header, claims: decoded.claims } },
    `issued: ${grant.tokenType} token for one action, expires in ${grant.expiresIn} s (shown decoded, not the token itself)`,
    `header ${formatJson(decoded.header)}`,
    `claims ${formatJson(decoded.claims)}`)

  const undeclared = await expectRefusal(client, 'db.drop', 'db:billing', 'POLICY_DENIED')
  narrator.step('deploy-bot asks for an action it never declared: db.drop on db:billing', { refused: refusal(undeclared) }, refusalLine(undeclared))

  const suspended = await admin.post<Agent>(agentPath(agent.id, '/suspend'))
  const inactive = await expectRefusal(client, 'tests.run', 'repo:acme/billing', 'AGENT_NOT_ACTIVE')
  narrator.step('an admin suspends deploy-bot; it retries tests.run', { agent: { status: suspended.status, version: suspended.version }, refused: refusal(inactive) },
    `agent is now ${printable(suspended.status)} (version ${suspended.version})`, refusalLine(inactive))

  const { records } = await admin.get<{ records: AuditRecord[] }>('/v1/audit?after=0&limit=1000')
  narrator.step('the audit trail: every registration, issue and refusal, hash-chained', { records }, formatAuditTable(records))

  const report = await admin.get<ChainReport>('/v1/audit/verify')
  if (!report.ok) {
    throw new WritError('AUDIT_CHAIN_BROKEN', `the audit chain is broken at seq ${report.firstBad?.seq}: ${report.firstBad?.reason}`)
  }
  narrator.step('verify the chain', { chain: report }, formatChainOk(report, 'online'))
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

function refusal(error: WritError): { code: string; detail: string; reasons: readonly string[] } {
  return { code: error.code, detail: error.detail, reasons: error.reasons }
}

function refusalLine(error: WritError): string {
  return `refused [${error.code}]: ${printable(error.detail)}; reasons: ${printable(error.reasons.join(', ') || '(none)')}`
}
