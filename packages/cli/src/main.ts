#!/usr/bin/env -S node --max-semi-space-size=8
/** The `writ` executable: runs one command line against the real process and exits with its code. */
import { processContext } from './cli-context.js'
import { runCli } from './run-cli.js'

process.exitCode = await runCli(process.argv.slice(2), processContext())
