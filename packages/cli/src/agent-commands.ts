/** `writ agent ...`: start an identity document, create a key pair, register and update documents, inspect and change an agent's status. */
import { Option, type Command } from 'commander'
import { parse as parseYaml } from 'yaml'
import type { Agent } from '@writ/server'
import type { CliContext } from './cli-context.js'
import { agentPath } from './admin-client.js'
import { generateAgentKey, type AgentKeyAlgorithm } from './agent-key.js'
import { formatAgent, formatAgentList, formatHistory, formatStatusLine, type AgentVersionEntry } from './agent-views.js'
import { AGENT_TEMPLATE, EXAMPLE_AGENTS, type ExampleAgent } from './example-agents.js'
import { appendKeys, readIdentityDocument, type IdentityDocument } from './identity-document-file.js'
import { readPublicKeys, writeJsonFile } from './jwk-files.js'
import { formatFields, formatJson, printable } from './output.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'

interface JsonOption extends GlobalOptions { json?: boolean }
interface DocumentOptions extends JsonOption { file: string; publicKey?: string }

export function registerAgentCommands(program: Command, ctx: CliContext): void {
  const agent = program.command('agent').description('register, inspect and control agents')
  const admin = (command: Command) => adminClientFor(locateServer(command.optsWithGlobals<GlobalOptions>(), ctx.env))

  agent.command('init')
    .description('print an identity document to start from: a commented template, or a sample (writ agent init --example deploy-bot > agent.yaml)')
    .addOption(new Option('--example <name>', 'print a sample document instead of the template').choices(Object.keys(EXAMPLE_AGENTS)))
    .option('--json', 'print the document as JSON (without the comments)')
    .action((options: { example?: ExampleAgent; json?: boolean }) => {
      const text = options.example === undefined ? AGENT_TEMPLATE : EXAMPLE_AGENTS[options.example]
      ctx.out(options.json ? formatJson(parseYaml(text)) : text.replace(/\n$/, ''))
    })

  agent.command('keygen')
    .description('create an agent key pair: <out>.jwk (private, mode 0600) and <out>.pub.jwk (public)')
    .option('--out <prefix>', 'path prefix of the two files', 'agent')
    .addOption(new Option('--alg <alg>', 'signature algorithm').choices(['EdDSA', 'ES256']).default('EdDSA'))
    .option('--force', 'replace existing files')
    .option('--json', 'print the file names and kid as JSON')
    .action(async (options: { out: string; alg: AgentKeyAlgorithm; force?: boolean; json?: boolean }) => {
      const pair = await generateAgentKey(options.alg)
      const privateFile = `${options.out}.jwk`
      const publicFile = `${options.out}.pub.jwk`
      writeJsonFile(privateFile, pair.privateJwk, { secret: true, overwrite: options.force === true })
      writeJsonFile(publicFile, pair.publicJwk, { secret: false, overwrite: options.force === true })
      if (options.json) return ctx.out(formatJson({ private_key_file: privateFile, public_key_file: publicFile, kid: pair.kid, alg: options.alg }))
      ctx.out(formatFields([['private key', `${privateFile}  (mode 0600; keep it with the agent, never share it)`], ['public key', publicFile], ['kid', pair.kid]]))
      ctx.out('next: describe the agent, from a sample or a commented template (see also examples/agents/):')
      ctx.out('  writ agent init --example deploy-bot > agent.yaml')
      ctx.out(`then: writ agent register --file agent.yaml --public-key ${publicFile}`)
    })

  agent.command('register')
    .description('register an agent from its identity document (YAML or JSON)')
    .requiredOption('--file <file>', 'identity document')
    .option('--public-key <file>', 'public JWK or JWKS to add to the document\'s jwks.keys')
    .option('--json', 'print the new agent as JSON')
    .action(async (options: DocumentOptions, command: Command) => {
      let document = readIdentityDocument(options.file)
      if (options.publicKey !== undefined) document = appendKeys(document, readPublicKeys(options.publicKey))
      const created = await admin(command).post<Agent>('/v1/agents', document)
      if (options.json) return ctx.out(formatJson(created))
      ctx.out(`registered agent \`${printable(created.name)}\``)
      ctx.out(formatFields([
        ['id', created.id], ['status', created.status], ['version', created.version],
        ['capabilities', created.document.capabilities.map((c) => c.id).join(', ') || '(none)'],
        ['keys', created.document.jwks.keys.map((k) => k.kid).join(', ')
          || ((created.document.federated_identities ?? []).length > 0 ? '(none: it authenticates through its federated identities)' : '(none: it cannot request tokens yet)')],
      ], '  '))
    })

  agent.command('update <agent>')
    .description('replace an agent\'s identity document (a new version); keeps its keys when the document lists none')
    .requiredOption('--file <file>', 'identity document')
    .option('--public-key <file>', 'public JWK or JWKS to add to the keys')
    .option('--json', 'print the updated agent as JSON')
    .action(async (idOrName: string, options: DocumentOptions, command: Command) => {
      const client = admin(command)
      const current = await client.get<Agent>(agentPath(idOrName))
      let document: IdentityDocument = readIdentityDocument(options.file)
      // A document without `jwks` would otherwise remove every registered key; rotating keys is an explicit edit.
      if (document.jwks === undefined) document = { ...document, jwks: { keys: current.document.jwks.keys } }
      if (options.publicKey !== undefined) document = appendKeys(document, readPublicKeys(options.publicKey))
      const updated = await client.put<Agent>(agentPath(current.id), document)
      if (options.json) return ctx.out(formatJson(updated))
      if (updated.version === current.version) return ctx.out(`agent \`${printable(updated.name)}\` is unchanged (version ${updated.version})`)
      const versions = await client.get<{ versions: AgentVersionEntry[] }>(agentPath(current.id, '/versions'))
      const fields = versions.versions.find((v) => v.version === updated.version)?.change.fields ?? []
      ctx.out(`updated agent \`${printable(updated.name)}\` to version ${updated.version}; changed: ${printable(fields.join(', '))}`)
    })

  agent.command('list')
    .description('list registered agents')
    .option('--json', 'print the API response as JSON')
    .action(async (options: JsonOption, command: Command) => {
      const { agents } = await admin(command).get<{ agents: Agent[] }>('/v1/agents')
      ctx.out(options.json ? formatJson({ agents }) : formatAgentList(agents))
    })

  agent.command('show <agent>')
    .description('show one agent (by id or name)')
    .option('--json', 'print the agent as JSON')
    .action(async (idOrName: string, options: JsonOption, command: Command) => {
      const found = await admin(command).get<Agent>(agentPath(idOrName))
      ctx.out(options.json ? formatJson(found) : formatAgent(found))
    })

  agent.command('history <agent>')
    .description('show every version of an agent and what changed')
    .option('--json', 'print the API response as JSON')
    .action(async (idOrName: string, options: JsonOption, command: Command) => {
      const body = await admin(command).get<{ versions: AgentVersionEntry[] }>(agentPath(idOrName, '/versions'))
      ctx.out(options.json ? formatJson(body) : formatHistory(body.versions))
    })

  const changes = {
    suspend: 'suspend an agent: it gets no tokens until resumed',
    resume: 'resume a suspended agent',
    retire: 'retire an agent for good (final: it cannot be resumed, its name is never reused)',
  } as const
  for (const [change, description] of Object.entries(changes)) {
    agent.command(`${change} <agent>`)
      .description(description)
      .option('--json', 'print the agent as JSON')
      .action(async (idOrName: string, options: JsonOption, command: Command) => {
        const changed = await admin(command).post<Agent>(agentPath(idOrName, `/${change}`))
        ctx.out(options.json ? formatJson(changed) : formatStatusLine(changed))
      })
  }
}
