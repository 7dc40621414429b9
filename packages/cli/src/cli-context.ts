/** What a command may touch outside itself: environment, output streams and the stop signal; tests pass their own. */

import type { Clock } from '@writ/server'
import { systemClock } from './clock.js'

export interface CliContext {
  env: Readonly<Record<string, string | undefined>>
  /** The time, for listings (expiry, age) and policy test cases; a Clock, so tests can pass a fixed one. */
  clock: Clock
  /** Writes one line to standard output. */
  out(line: string): void
  /** Writes one line to standard error. */
  err(line: string): void
  /** Resolves when the user asks a long-running command (`serve`, `audit tail --follow`) to stop. */
  untilStopped(): Promise<void>
}

/** The real process: stdout, stderr, and SIGINT/SIGTERM; handlers are installed only when a command waits for them. */
export function processContext(): CliContext {
  let stopped: Promise<void> | undefined
  return {
    env: process.env,
    clock: systemClock,
    out: (line) => { process.stdout.write(`${line}\n`) },
    err: (line) => { process.stderr.write(`${line}\n`) },
    untilStopped() {
      stopped ??= new Promise((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
          resolve()
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      })
      return stopped
    },
  }
}
