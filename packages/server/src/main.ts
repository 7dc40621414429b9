/** The server process (started by launch.cts): load config, build app, listen, shut down cleanly on SIGTERM/SIGINT. */
import { WritError } from '@writ/sdk'
import { loadConfig } from './config/load.js'
import { systemClock } from './clock.js'
import { createLogger, describeError } from './logger.js'
import { startServer } from './serve.js'
import { armShutdownBackstop } from './shutdown-backstop.js'

// Exit codes as the CLI's: 2 for an invalid configuration, 1 for any other failure to start or stop.
const EXIT_FAILURE = 1
const EXIT_CONFIG = 2

async function run(): Promise<void> {
  const config = loadConfig({ file: process.env.WRIT_CONFIG || undefined, env: process.env })
  const logger = createLogger(config.log.level, systemClock)
  // Handlers first: a supervisor may signal while the server starts, and an unhandled SIGTERM would skip the cleanup
  // (server.json, the data directory lock). `once`: a second signal takes Node's default action and ends the process.
  const stop = new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve())
  })
  let server
  try {
    server = await startServer(config, systemClock, logger)
  } catch (error) {
    logger.error('writ did not start', error instanceof WritError ? { code: error.code, error: error.detail } : describeError(error))
    // startServer has closed what it opened; exit explicitly all the same, so nothing can keep a half-started process.
    process.exit(error instanceof WritError && error.code === 'CONFIG_INVALID' ? EXIT_CONFIG : EXIT_FAILURE)
  }
  await stop
  logger.info('writ stopping', { grace_ms: config.server.shutdownGraceMs })
  armShutdownBackstop(config.server.shutdownGraceMs, logger)
  try {
    await server.close()
  } catch (error) {
    logger.error('shutdown failed', describeError(error))
    process.exit(EXIT_FAILURE)
  }
  process.exit(0)
}

try {
  await run()
} catch (error) {
  // Configuration errors come before the logger exists: one line per problem on stderr, no stack.
  if (!(error instanceof WritError)) throw error
  const reasons = error.reasons.length > 0 ? error.reasons.map((reason) => `\n  - ${reason}`).join('') : ''
  process.stderr.write(`error: ${reasons ? error.detail.split(': ')[0] : error.detail} [${error.code}]${reasons}\n`)
  process.exit(error.code === 'CONFIG_INVALID' ? EXIT_CONFIG : EXIT_FAILURE)
}
