/** Builds the `writ` command tree and runs one command line; returns the exit code instead of exiting, for tests. */
import { createRequire } from 'node:module'
import { Command, CommanderError } from 'commander'
import { registerAdminCommands } from './admin-commands.js'
import { registerAgentCommands } from './agent-commands.js'
import { registerApprovalCommands } from './approval-commands.js'
import { registerAuditCommands } from './audit-commands.js'
import type { CliContext } from './cli-context.js'
import { registerDbCommands } from './db-commands.js'
import { registerDemoCommand } from './demo-command.js'
import { registerHostSideCommands } from './host-side-commands.js'
import { registerHostCommands } from './host-commands.js'
import { registerKeysCommands } from './keys-commands.js'
import { registerTrustCommands } from './trust-commands.js'
import { registerLoginCommands } from './login-commands.js'
import { registerMandateCommands } from './mandate-commands.js'
import { registerRevokeCommands } from './revoke-commands.js'
import { registerResourceServerCommands } from './resource-server-commands.js'
import { registerPolicyCommands } from './policy-commands.js'
import { EXIT_USAGE, reportError } from './report-error.js'
import { registerServeCommand } from './serve-command.js'
import { registerStatusCommand } from './status-command.js'
import { registerSudoCommands } from './sudo-commands.js'
import { registerSshCommands } from './ssh-commands.js'
import { registerTokenCommands } from './token-commands.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('writ')
    .description('Writ: identity and per-action capability tokens for AI agents')
    .version(version)
    .option('--url <url>', 'public API of the server (env WRIT_URL; default: the `writ login` profile, else <data-dir>/server.json)')
    .option('--admin-url <url>', 'admin API of the server (env WRIT_ADMIN_URL; default: the profile, else <data-dir>/server.json)')
    .option('--admin-token <credential>', 'admin credential (env WRIT_ADMIN_TOKEN; default: the profile, else <data-dir>/admin-token)')
    .option('--data-dir <dir>', 'a local server\'s data directory; naming it bypasses the profile (env WRIT_DATA_DIR; default ./.writ)')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    // Settings below are inherited by every subcommand created after them.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.out(text.replace(/\n$/, '')),
      writeErr: (text) => ctx.err(text.replace(/\n$/, '')),
    })
  registerServeCommand(program, ctx)
  registerStatusCommand(program, ctx)
  registerAgentCommands(program, ctx)
  registerTokenCommands(program, ctx)
  registerPolicyCommands(program, ctx)
  registerApprovalCommands(program, ctx)
  registerMandateCommands(program, ctx)
  registerRevokeCommands(program, ctx)
  registerResourceServerCommands(program, ctx)
  registerAuditCommands(program, ctx)
  registerKeysCommands(program, ctx)
  registerTrustCommands(program, ctx)
  registerAdminCommands(program, ctx)
  registerLoginCommands(program, ctx)
  registerDbCommands(program, ctx)
  registerDemoCommand(program, ctx)
  registerHostCommands(program, ctx)
  // Last: `writ host` may already exist (the control plane's host commands); these join it.
  registerHostSideCommands(program, ctx)
  registerSudoCommands(program, ctx)
  registerSshCommands(program, ctx)
  return program
}

/**
 * Whether an unknown option is more likely a value (an id, a number) than a mistyped option. Option names are short,
 * lowercase words joined by '-'; so the rest after the leading dashes (and before any '=') looks like a value when it
 * has a digit, an uppercase letter or a character other than a-z and '-', or runs to 20 characters or more.
 */
export function looksLikeValue(argument: string): boolean {
  const rest = argument.replace(/^-+/, '').split('=', 1)[0] ?? ''
  return rest.length >= 20 || /[^a-z-]/.test(rest)
}

/** Runs `argv` (without node and the script) and returns the process exit code. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' })
    return 0
  } catch (error) {
    if (error instanceof CommanderError) {
      // Writ's own ids never start with '-', but a value the user got elsewhere may; `--` is how to pass it. Said only
      // when the unknown option looks like such a value: after a mistyped option name the hint would mislead.
      const option = error.code === 'commander.unknownOption' ? /unknown option '([^']*)'/.exec(error.message)?.[1] : undefined
      if (option !== undefined && looksLikeValue(option)) ctx.err('an argument that starts with \'-\' goes after `--`, as in: writ approvals show -- <id>')
      // Help and --version end through the same path with exit code 0; everything else is a usage error.
      return error.exitCode === 0 ? 0 : EXIT_USAGE
    }
    return reportError(error, ctx)
  }
}
