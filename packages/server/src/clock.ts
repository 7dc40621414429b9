/** The only place that reads the system time; everything else receives a Clock. */

export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number
  /** Whole seconds since the epoch, for JWT claims. */
  nowSeconds(): number
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  nowSeconds: () => Math.floor(Date.now() / 1000),
}

/** A clock that only moves when told to, for tests. */
export function fixedClock(startMs: number): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = startMs
  return {
    nowMs: () => now,
    nowSeconds: () => Math.floor(now / 1000),
    advance(ms: number) { now += ms },
    set(ms: number) { now = ms },
  }
}
