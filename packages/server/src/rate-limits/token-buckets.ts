/** Token buckets keyed by agent or address: continuous refill, O(1) per request, no timers, bounded memory. */

// How many of the oldest buckets a new key may look at for room when the map is full (see makeRoom).
const EVICTION_PROBES = 4

/**
 * The token bucket in its GCRA form ("generic cell rate algorithm", the same arithmetic): instead of a token count and
 * a refill time, each key keeps one number, the time at which its bucket is full again. At `now` it holds
 * `burst - max(0, fullAt - now) / interval` tokens, so taking one moves `fullAt` on by one interval, and a key whose
 * `fullAt` has passed holds a full bucket, which is what a key without an entry has: such an entry can go at any time.
 */
export class TokenBuckets {
  private readonly fullAt = new Map<string, number>()
  private readonly intervalMs: number
  // Debt a bucket may carry and still give a token: burst - 1 intervals (a fresh bucket has burst tokens).
  private readonly maxDebtMs: number

  constructor(ratePerSecond: number, burst: number, private readonly maxKeys: number) {
    if (!(ratePerSecond > 0) || !Number.isInteger(burst) || burst < 1 || !Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new TypeError('a token bucket needs a positive rate, an integer burst of at least 1 and room for a key')
    }
    this.intervalMs = 1000 / ratePerSecond
    this.maxDebtMs = (burst - 1) * this.intervalMs
  }

  /** Takes one token of `key`'s bucket: 0 when taken, else the milliseconds until one is there (nothing is taken). */
  take(key: string, nowMs: number): number {
    const fullAt = this.fullAt.get(key)
    const from = fullAt === undefined || fullAt < nowMs ? nowMs : fullAt
    const waitMs = from - nowMs - this.maxDebtMs
    if (waitMs > 0) return waitMs
    if (fullAt === undefined && this.fullAt.size >= this.maxKeys) this.makeRoom(nowMs)
    this.fullAt.set(key, from + this.intervalMs)
    return 0
  }

  /** Drops every full bucket: they hold no state (a key without a bucket gets a full one). */
  prune(nowMs: number): void {
    for (const [key, fullAt] of this.fullAt) if (fullAt <= nowMs) this.fullAt.delete(key)
  }

  get size(): number {
    return this.fullAt.size
  }

  /**
   * Frees exactly one entry, so the map never holds more than `maxKeys`. The oldest entries are looked at first: a full
   * bucket goes at no cost; one still in debt was used lately and moves to the back. If the few looked at are all in
   * debt, the last of them goes anyway and its debt is forgiven. That is the price of bounded memory, and it buys an
   * attacker nothing: to force it they need more fresh keys (addresses, agents) within one refill than the map holds,
   * and each of those came with a full bucket of its own.
   */
  private makeRoom(nowMs: number): void {
    let probes = 0
    for (const [key, fullAt] of this.fullAt) {
      this.fullAt.delete(key)
      if (fullAt <= nowMs || ++probes >= EVICTION_PROBES) return
      this.fullAt.set(key, fullAt)
    }
  }
}
