/** What a command may touch outside itself: environment, input and output streams, the stop signal; tests pass their own. */

import type { Clock } from '@writ/server'
import { systemClock } from './clock.js'
import { CommandExit } from './report-error.js'

export interface CliContext {
  env: Readonly<Record<string, string | undefined>>
  /** The time, for listings (expiry, age) and policy test cases; a Clock, so tests can pass a fixed one. */
  clock: Clock
  /** Writes one line to standard output. */
  out(line: string): void
  /** Writes one line to standard error. */
  err(line: string): void
  /**
   * Reads one secret line: at a terminal after showing `prompt` on stderr, without echo; else all of standard input
   * (a pipe or a file). The trailing newline is removed.
   */
  readSecret(prompt: string): Promise<string>
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
    readSecret: (prompt) => (process.stdin.isTTY ? readFromTerminal(prompt) : readAll(process.stdin)),
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

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string))
  return firstLine(Buffer.concat(chunks).toString('utf8'))
}

/** Raw mode, so the terminal does not echo what is typed: a credential must not stay on screen or in a recording. */
function readFromTerminal(prompt: string): Promise<string> {
  const stdin = process.stdin
  process.stderr.write(prompt)
  return new Promise((resolve, reject) => {
    let typed = ''
    const finish = (error?: CommandExit) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      if (error) reject(error)
      else resolve(typed)
    }
    const onData = (chunk: Buffer | string) => {
      for (const c of chunk.toString()) {
        if (c === '\r' || c === '\n' || c === '\u0004') return finish()
        // Ctrl-C in raw mode arrives as a character, not as SIGINT; end as an interrupted program does (128 + 2).
        if (c === '\u0003') return finish(new CommandExit(130))
        if (c === '\u007f' || c === '\b') typed = typed.slice(0, -1)
        else if (c >= ' ') typed += c
      }
    }
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onData)
  })
}

function firstLine(text: string): string {
  return text.split(/\r?\n/, 1)[0] ?? ''
}
