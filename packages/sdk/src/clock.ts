/** The SDK's only reader of the system time: the default wherever a caller gives no `now` of its own. */

/** Whole seconds since the epoch, for JWT claims. */
export function systemNowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
