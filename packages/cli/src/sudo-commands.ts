/**
 * `writ sudo token` prints a sudo.exec capability token for one exact command; `writ sudo -- <argv>` mints one and
 * runs `sudo -u <runas> -- <argv>` with it in WRIT_SUDO_TOKEN (the environment, never the command line).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { constants as osConstants } from 'node:os'
import type { Command } from 'commander'
import { WritError } from '@writ/sdk'
import type { CliContext } from './cli-context.js'
import { formatJson } from './output.js'
import { CommandExit } from './report-error.js'
import { agentClientFor, reportPending, type AgentOptions } from './token-commands.js'

interface SudoOptions extends AgentOptions {
  host?: string
  runas: string
  task: string
  purpose?: string
}

const DEFAULT_CONFIG_PATH = '/etc/writ/host.json'

export function registerSudoCommands(program: Command, ctx: CliContext): void {
  const sudo = withAgentOptions(program.command('sudo')
    .description('run one command with sudo on a Writ host, with a single-use sudo.exec token for exactly that argv')
    .usage('[options] -- <command> [args...]')
    .argument('[argv...]', 'the command and its arguments, after --'))
    .action(async (argv: string[], _options: SudoOptions, command: Command) => {
      const options = command.optsWithGlobals<SudoOptions>()
      if (argv.length === 0) command.error('error: give the command after --, as in: writ sudo -- systemctl restart nginx')
      const token = await mintSudoToken(argv, options, ctx, command)
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn('sudo', ['-u', options.runas, '--', ...argv], { stdio: 'inherit', env: { ...process.env, ...ctx.env, WRIT_SUDO_TOKEN: token } })
        child.once('error', reject)
        // A command killed by a signal ends `writ sudo` as a shell reports it: 128 + the signal's number.
        child.once('exit', (exitCode, signal) => resolve(exitCode ?? 128 + (signal ? osConstants.signals[signal] : 0)))
      })
      if (code !== 0) throw new CommandExit(code)
    })

  withAgentOptions(sudo.command('token')
    .description('print a sudo.exec capability token for one exact command (for WRIT_SUDO_TOKEN)')
    .argument('<argv...>', 'the command and its arguments, after --'))
    .option('--json', 'print {"access_token", "host", "runas", "argv"}')
    .action(async (argv: string[], _options: SudoOptions, command: Command) => {
      const options = command.optsWithGlobals<SudoOptions & { json?: boolean }>()
      const token = await mintSudoToken(argv, options, ctx, command)
      ctx.out(options.json ? formatJson({ access_token: token, host: options.host ?? thisHostName(), runas: options.runas, argv }) : token)
    })
}

function withAgentOptions(command: Command): Command {
  return command
    .option('--host <name>', `the host's name (default: this host's, from ${DEFAULT_CONFIG_PATH})`)
    .option('--runas <user>', 'the user to run the command as', 'root')
    .option('--task <id>', 'the task this command belongs to', 'sudo')
    .option('--purpose <text>', 'why the command is run (shown to approvers)')
    .option('--agent <agent>', 'the agent\'s id or registered name (env WRIT_AGENT)')
    .option('--key <file>', 'the agent\'s private JWK (env WRIT_AGENT_KEY)')
}

async function mintSudoToken(argv: string[], options: SudoOptions, ctx: CliContext, command: Command): Promise<string> {
  const agent = options.agent ?? ctx.env.WRIT_AGENT
  const key = options.key ?? ctx.env.WRIT_AGENT_KEY
  if (!agent || !key) command.error('error: name the agent and its key: --agent and --key (or WRIT_AGENT and WRIT_AGENT_KEY)')
  const host = options.host ?? thisHostName()
  const agentOptions: SudoOptions = { ...options, agent: agent as string, key: key as string }
  const client = await agentClientFor(agentOptions, ctx)
  const grant = await client.requestCapability({
    action: 'sudo.exec', resource: `host:${host}`, audience: `urn:writ:host:${host}`, taskId: options.task,
    ...(options.purpose !== undefined ? { taskPurpose: options.purpose } : {}),
    parameters: { runas: options.runas, argv },
  }).catch((error: unknown) => reportPending(error, agentOptions, ctx))
  return grant.accessToken
}

function thisHostName(): string {
  try {
    const name = (JSON.parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as { name?: unknown }).name
    if (typeof name === 'string' && name.length > 0) return name
  } catch {
    // fall through to the message below
  }
  throw new WritError('CONFIG_INVALID', `name the host with --host (this machine has no readable ${DEFAULT_CONFIG_PATH})`)
}
