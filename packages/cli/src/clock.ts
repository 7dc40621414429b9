/** The CLI's only reader of the system time (the server's clock module is not loaded for every command). */
import type { Clock } from '@writ/server'

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  nowSeconds: () => Math.floor(Date.now() / 1000),
}
