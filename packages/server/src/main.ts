/** The server process (started by launch.cts): load config, build app, listen, shut down cleanly on SIGTERM/SIGINT. */
import { loadConfig } from './config/load.js'
import { systemClock } from './clock.js'
import { createLogger } from './logger.js'
import { startServer } from './serve.js'

const config = loadConfig({ file: process.env.WRIT_CONFIG, env: process.env })
const logger = createLogger(config.log.level, systemClock)
const server = await startServer(config, systemClock, logger)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => { void server.close().then(() => process.exit(0)) })
}
