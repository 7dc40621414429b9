/**
 * The host's own commands (run as root on the host): `writ host enroll`, `writ host agent`, `writ host build-plugin`,
 * `writ host uninstall`. The control plane's host commands (join tokens, list, label, remove) live beside these
 * under the same `writ host`.
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import type { HostPaths } from '@writ/host'
import type { CliContext } from './cli-context.js'
import { formatJson } from './output.js'

interface PathOptions {
  etcDir?: string
  sshdConfigDir?: string
  sshHostKey?: string
  sudoConf?: string
  pluginPath?: string
  socket?: string
  stateDir?: string
  agentGroup?: string
  dryRun?: boolean
  json?: boolean
}

/** The `host` command, shared with the control plane's host commands whichever registers first. */
// Loaded when a host command runs, not at every `writ` start: the host package brings SQLite and the daemon.
const hostPackage = () => import('@writ/host')
const DEFAULT_CONFIG_PATH = '/etc/writ/host.json'
const DEFAULT_PLUGIN_PATH = '/usr/local/libexec/writ/writ_sudo.so'

export function hostCommand(program: Command): Command {
  return program.commands.find((command) => command.name() === 'host')
    ?? program.command('host').description('Linux hosts: enroll this host, run its agent; join tokens, list, label, remove')
}

function withPathOptions(command: Command): Command {
  return command
    .option('--etc-dir <dir>', 'where host.json, the host key, the CA and KRL files go (default /etc/writ)')
    .option('--sshd-config-dir <dir>', 'the sshd drop-in directory (default /etc/ssh/sshd_config.d)')
    .option('--ssh-host-key <file>', 'the SSH host private key; <file>.pub is registered (default /etc/ssh/ssh_host_ed25519_key)')
    .option('--sudo-conf <file>', 'sudo.conf to add the plugin lines to (default /etc/sudo.conf)')
    .option('--plugin-path <file>', `where the sudo plugin is built (default ${DEFAULT_PLUGIN_PATH})`)
    .option('--socket <path>', 'the host agent\'s socket (default /run/writ/host-agent.sock)')
    .option('--state-dir <dir>', 'the host agent\'s state (default /var/lib/writ/host)')
    .option('--agent-group <group>', 'the unix group of agent accounts (default writ-agents)')
    .option('--dry-run', 'print what would change, change nothing')
    .option('--json', 'print one JSON object: the configuration and the lines describing each change')
}

function pathsOf(options: PathOptions): Partial<HostPaths> {
  const paths: Partial<HostPaths> = {}
  if (options.etcDir) paths.etcDir = options.etcDir
  if (options.sshdConfigDir) paths.sshdConfigDir = options.sshdConfigDir
  if (options.sshHostKey) paths.sshHostKey = options.sshHostKey
  if (options.sudoConf) paths.sudoConf = options.sudoConf
  if (options.pluginPath) paths.pluginPath = options.pluginPath
  if (options.socket) paths.socketPath = options.socket
  if (options.stateDir) paths.stateDir = options.stateDir
  if (options.agentGroup) paths.agentGroup = options.agentGroup
  return paths
}

export function registerHostSideCommands(program: Command, ctx: CliContext): void {
  const host = hostCommand(program)

  withPathOptions(host.command('enroll')
    .description('enroll this host with a join token: keys, host certificate, sshd and sudo settings (run as root)')
    .requiredOption('--server <url>', 'Writ\'s public URL')
    .option('--token <join-token>', 'the join token from `writ host token create` (env WRIT_JOIN_TOKEN)')
    .option('--name <name>', 'the host\'s name, unless the join token sets it'))
    .action(async (options: PathOptions & { server: string; token?: string; name?: string }, command: Command) => {
      const joinToken = options.token ?? ctx.env.WRIT_JOIN_TOKEN
      if (!options.dryRun && (joinToken === undefined || joinToken === '')) command.error('error: a join token is needed: --token or WRIT_JOIN_TOKEN')
      const { enrollThisHost } = await hostPackage()
      const lines: string[] = []
      const config = await enrollThisHost({
        server: options.server, joinToken: joinToken ?? '', ...(options.name ? { name: options.name } : {}),
        dryRun: options.dryRun === true, paths: pathsOf(options), out: options.json ? (line) => lines.push(line) : ctx.out,
      })
      if (options.json) ctx.out(formatJson({ dry_run: options.dryRun === true, config, changes: lines }))
    })

  host.command('agent')
    .description('run the host agent: answers the sudo plugin, sends run reports, keeps sshd\'s KRL current (run as root)')
    .option('--config <file>', `the host configuration (default ${DEFAULT_CONFIG_PATH})`)
    .option('--json', 'accepted for symmetry: the agent logs JSON lines either way')
    .action(async (options: { config?: string }) => {
      const { loadHostConfig, startHostAgent } = await hostPackage()
      const config = loadHostConfig(options.config ?? DEFAULT_CONFIG_PATH)
      const privateKey = JSON.parse(readFileSync(config.key_path, 'utf8')) as Record<string, unknown>
      const agent = await startHostAgent({ config, privateKey })
      await ctx.untilStopped()
      await agent.close()
    })

  host.command('build-plugin')
    .description('build the sudo approval/audit plugin with the system compiler')
    .option('--output <file>', `where to put it (default ${DEFAULT_PLUGIN_PATH})`)
    .option('--json', 'print {"path": …}')
    .action(async (options: { output?: string; json?: boolean }) => {
      const { buildSudoPlugin } = await hostPackage()
      const path = buildSudoPlugin(options.output ?? DEFAULT_PLUGIN_PATH)
      ctx.out(options.json ? formatJson({ path }) : `built ${path}`)
    })

  withPathOptions(host.command('uninstall')
    .description('remove Writ\'s sudo plugin lines and sshd settings from this host (run as root)'))
    .action(async (options: PathOptions) => {
      const { uninstallThisHost } = await hostPackage()
      const lines: string[] = []
      uninstallThisHost({ paths: pathsOf(options), dryRun: options.dryRun === true, out: options.json ? (line) => lines.push(line) : ctx.out })
      if (options.json) ctx.out(formatJson({ dry_run: options.dryRun === true, changes: lines }))
    })
}
