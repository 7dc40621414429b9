/** The CLI (started by writ.cts): runs one command line against the real process and exits with its code. */
import { processContext } from './cli-context.js'
import { runCli } from './run-cli.js'

process.exitCode = await runCli(process.argv.slice(2), processContext())
