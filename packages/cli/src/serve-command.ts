/** `writ serve`: loads the configuration, runs both APIs, shows the bootstrap credential once, stops on SIGTERM/SIGINT. */
import { resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { stringify as toYaml } from 'yaml'
import type { CliContext } from './cli-context.js'
import { formatFields, printable } from './output.js'
import type { GlobalOptions } from './server-locator.js'

interface ServeOptions extends GlobalOptions {
  port?: number
  adminPort?: number
  config?: string
  printConfig?: boolean
}

export function registerServeCommand(program: Command, ctx: CliContext): void {
  program.command('serve')
    .description('run the writ server (public API and admin API) until SIGTERM or SIGINT')
    .option('--port <n>', 'port of the public API (default 8080; 0 picks a free port)', parsePort)
    .option('--admin-port <n>', 'port of the admin API (default 8081)', parsePort)
    .option('--config <file>', 'YAML configuration file (default: $WRIT_CONFIG)')
    .option('--print-config', 'print the effective configuration, secrets redacted, and exit')
    .action(async (_options: ServeOptions, command: Command) => serve(command.optsWithGlobals<ServeOptions>(), ctx))
}

async function serve(options: ServeOptions, ctx: CliContext): Promise<void> {
  // Loaded on demand: the server pulls in storage drivers that the client commands never need.
  const server = await import('@writ/server')
  const flags: Record<string, unknown> = {}
  if (options.dataDir !== undefined) flags.dataDir = options.dataDir
  const listen: Record<string, number> = {}
  if (options.port !== undefined) listen.port = options.port
  if (options.adminPort !== undefined) listen.adminPort = options.adminPort
  if (Object.keys(listen).length > 0) flags.server = listen
  const file = options.config ?? (ctx.env.WRIT_CONFIG || undefined)
  const config = server.loadConfig({ ...(file === undefined ? {} : { file }), env: { ...ctx.env }, flags })

  if (options.printConfig) {
    ctx.out(toYaml(server.redactConfig(config)).trimEnd())
    return
  }

  // Listen for SIGTERM/SIGINT before the server starts and before "running" is printed: a supervisor may signal as
  // soon as it reads that line, and a signal with no handler yet would kill the process without a clean shutdown.
  const stopped = ctx.untilStopped()
  const logger = server.createLogger(config.log.level, server.systemClock)
  // A failure to start (a taken port, a locked data directory) leaves nothing open: startServer closes what it opened.
  const running = await server.startServer(config, server.systemClock, logger)
  const dataDir = resolve(config.dataDir)
  ctx.out('writ is running')
  ctx.out(formatFields([
    ['public API', `${running.publicUrl}  (token endpoint, metadata, JWKS)`],
    ['admin API', `${running.adminUrl}  (admin credential required)`],
    ['issuer', running.app.issuer],
    ['data dir', dataDir],
  ], '  '))
  const credential = running.app.bootstrapCredential
  if (credential !== undefined) {
    // The one place a credential is printed: it was created by this start, and is shown now and never again.
    ctx.out('')
    ctx.out('bootstrap admin credential (shown once; also saved with mode 0600 in the data dir as `admin-token`):')
    ctx.out(`  ${credential}`)
    ctx.out('the writ command on this machine reads it from there; elsewhere set WRIT_ADMIN_TOKEN.')
  }
  ctx.out('')
  ctx.out('press Ctrl-C to stop')

  await stopped
  ctx.err(`stopping writ (waiting up to ${printable(config.server.shutdownGraceMs)} ms for requests in flight)`)
  server.armShutdownBackstop(config.server.shutdownGraceMs, logger)
  await running.close()
}

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError('expected a port number (0-65535)')
  return Number(value)
}
