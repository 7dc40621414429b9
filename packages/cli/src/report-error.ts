/** Prints a failure to stderr and chooses the exit code: 2 for usage and configuration, 3 for a request held for a human, 1 otherwise. */
import { WritError } from '@writ/sdk'
import type { CliContext } from './cli-context.js'
import { printable } from './output.js'

export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
/** A capability request waits for a human approval (`writ token request` without `--wait`, or a wait that timed out). */
export const EXIT_PENDING = 3

/** Ends a command with an exit code after it has printed what it had to say (a failed check, a held request). */
export class CommandExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`)
    this.name = 'CommandExit'
  }
}

export function reportError(error: unknown, ctx: CliContext): number {
  if (error instanceof CommandExit) return error.exitCode
  if (error instanceof WritError) {
    ctx.err(`error: ${printable(detailWithoutReasons(error))} [${error.code}]`)
    for (const reason of error.reasons) ctx.err(`  - ${printable(reason)}`)
    return error.code === 'CONFIG_INVALID' ? EXIT_USAGE : error.code === 'APPROVAL_PENDING' ? EXIT_PENDING : EXIT_FAILURE
  }
  // Not an expected failure: name it; the stack only on request, since it helps a developer and nobody else.
  const described = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  ctx.err(`error: unexpected failure: ${printable(described)}`)
  // DEBUG, not a WRIT_* variable: the server reads every WRIT_* variable as a setting and rejects unknown ones.
  if (/\bwrit\b/.test(ctx.env.DEBUG ?? '') && error instanceof Error && error.stack) ctx.err(error.stack)
  else ctx.err('  (set DEBUG=writ to see where it happened)')
  return EXIT_FAILURE
}

/** Details often end with `: <reasons joined by ;>`; the reasons follow on their own lines, so say them once. */
function detailWithoutReasons(error: WritError): string {
  const suffix = `: ${error.reasons.join('; ')}`
  return error.reasons.length > 0 && error.detail.endsWith(suffix) ? error.detail.slice(0, -suffix.length) : error.detail
}
