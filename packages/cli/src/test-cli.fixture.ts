/** Test support: runs `writ` in process with captured output, and a real server on a temporary data directory. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, loadConfig, startServer, type RunningServer } from '@writ/server'
import { systemClock } from './clock.js'
import type { CliContext } from './cli-context.js'
import { runCli } from './run-cli.js'

export const EXAMPLES_DIR = new URL('../../../examples/agents/', import.meta.url)

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** `stdin` is what a secret prompt reads (as if piped); without it, a prompt fails the test. */
export async function runWrit(args: string[], options: { env?: Record<string, string>; untilStopped?: () => Promise<void>; stdin?: string } = {}): Promise<CliResult> {
  const stdout: string[] = []
  const stderr: string[] = []
  const ctx: CliContext = {
    env: options.env ?? {},
    clock: systemClock,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    untilStopped: options.untilStopped ?? (() => new Promise(() => undefined)),
    readSecret: async () => {
      if (options.stdin === undefined) throw new Error('the command read standard input, which this test did not provide')
      return options.stdin.split(/\r?\n/, 1)[0] ?? ''
    },
  }
  const code = await runCli(args, ctx)
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') }
}

export interface TestServer {
  dataDir: string
  server: RunningServer
  stop(): Promise<void>
  /** Removes the temporary directory (after stop). */
  remove(): void
}

/** Settings beyond the test defaults, e.g. `{ oversight: { pollIntervalSeconds: 1 } }`. */
export async function startTestServer(settings: Record<string, unknown> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'writ-cli-test-'))
  const config = loadConfig({ env: {}, flags: { dataDir, server: { port: 0, adminPort: 0, shutdownGraceMs: 1_000 }, log: { level: 'silent' }, ...settings } })
  const server = await startServer(config, systemClock, createLogger('silent', systemClock))
  return {
    dataDir, server,
    stop: () => server.close(),
    remove: () => rmSync(dataDir, { recursive: true, force: true }),
  }
}
