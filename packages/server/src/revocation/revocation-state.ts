/**
 * RevocationState: what this replica knows to be revoked, for introspection (RFC 7662) and anything else on the
 * server that must refuse a revoked token. The same rules as the SDK verifier (one RevocationList), loaded from
 * storage at start and kept current by the feed.
 */
import { RevocationList, type RevocableClaims } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { RevocationRepository } from '../storage/revocation-repository.js'
import type { RevocationFeed } from './revocation-feed.js'

const PAGE = 1_000

export class RevocationState {
  private readonly list = new RevocationList()

  private constructor(private readonly clock: Clock) {}

  /** Subscribes first, then loads every live event: one that commits in between arrives twice, which is harmless. */
  static async load(revocations: Pick<RevocationRepository, 'eventsAfter'>, feed: RevocationFeed, clock: Clock): Promise<RevocationState> {
    const state = new RevocationState(clock)
    feed.subscribe((events) => { for (const { event } of events) state.list.apply(event) })
    for (let after = 0; ;) {
      const page = await revocations.eventsAfter(after, clock.nowMs(), PAGE)
      for (const { event } of page) state.list.apply(event)
      if (page.length < PAGE) break
      after = (page.at(-1) as (typeof page)[number]).eventId
    }
    return state
  }

  /** True when a verified token (its claims and the `kid` of its header) is covered by a revocation. */
  isRevoked(claims: RevocableClaims, kid: string | undefined): boolean {
    return this.list.isRevoked(claims, kid, this.clock.nowSeconds())
  }

  /** Drops entries that can no longer match a live token (bounded memory). */
  prune(): number {
    return this.list.prune(this.clock.nowSeconds())
  }

  get size(): number {
    return this.list.size
  }
}
