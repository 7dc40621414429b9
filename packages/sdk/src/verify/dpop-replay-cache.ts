/** A resource server's memory of DPoP proof jtis (RFC 9449 §11.1): each proof is accepted once within its window. */
import { WritError } from '../errors/writ-error.js'

export interface DpopReplayCache {
  /**
   * Records `key` (the proof key's thumbprint and the proof's jti) until `expiresAt` (epoch seconds); true when it was
   * not already there. A shared store (several instances of one resource server) implements the same contract.
   */
  use(key: string, expiresAt: number, now: number): boolean | Promise<boolean>
}

export interface MemoryDpopReplayCacheOptions {
  /** Most proofs remembered at once; default 100,000 (~10 MB). A full cache refuses new proofs rather than forget one. */
  maxEntries?: number
}

/**
 * In-process cache with bounded memory. Entries leave once their proof is outside the window; when the cache is still
 * full, a new proof is refused (SERVER_UNAVAILABLE) instead of evicting a live entry, which would let its proof replay.
 */
export function createMemoryDpopReplayCache(options: MemoryDpopReplayCacheOptions = {}): DpopReplayCache {
  const maxEntries = options.maxEntries ?? 100_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer')
  // Insertion order is close to expiry order (every proof gets the same window), so expired entries sit at the front.
  const seen = new Map<string, number>()
  return {
    use(key, expiresAt, now) {
      const known = seen.get(key)
      if (known !== undefined && known > now) return false
      for (const [k, expiry] of seen) {
        if (expiry > now) break
        seen.delete(k)
      }
      if (seen.size >= maxEntries) {
        throw new WritError('SERVER_UNAVAILABLE', 'too many DPoP proofs in flight', { reasons: ['dpop_replay_cache_full'] })
      }
      seen.delete(key)
      seen.set(key, expiresAt)
      return true
    },
  }
}
