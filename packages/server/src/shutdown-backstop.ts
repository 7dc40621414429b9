/** armShutdownBackstop(): whatever hangs during a shutdown, the process ends shortly after the grace period. */
import type { Logger } from './logger.js'

/** Time allowed after the grace for committing what is queued and closing storage, before the process is ended. */
export const SHUTDOWN_BACKSTOP_MARGIN_MS = 2_000

/**
 * Call when a stop signal arrives. Connections are destroyed at `graceMs` (listen.ts); if storage or a thread still
 * hangs after the margin, the process exits 1, so a supervisor never has to send a second signal or a SIGKILL.
 */
export function armShutdownBackstop(graceMs: number, logger: Logger): void {
  setTimeout(() => {
    logger.error('shutdown did not finish in time; exiting', { grace_ms: graceMs, margin_ms: SHUTDOWN_BACKSTOP_MARGIN_MS })
    process.exit(1)
  }, graceMs + SHUTDOWN_BACKSTOP_MARGIN_MS).unref()
}
