/**
 * RevocationFeed: this replica's view of the revocation events in storage, in id order. Whatever tells it that events
 * may exist (a local commit, a PostgreSQL notification, the backstop timer, a reconnected listener) only makes it
 * read `event_id > lastSeen` from storage: storage is the one source, so a lost notification delays an event and
 * never loses it, and every replica hands its subscribers the same events in the same order.
 */
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { RevocationRepository } from '../storage/revocation-repository.js'
import type { StoredRevocationEvent } from './revocation.js'

export type FeedListener = (events: readonly StoredRevocationEvent[]) => void

const PAGE = 1_000

export class RevocationFeed {
  private lastSeen = 0
  private readonly listeners = new Set<FeedListener>()
  private reading: Promise<void> | undefined
  private again = false

  constructor(private readonly revocations: Pick<RevocationRepository, 'eventsAfter' | 'lastEventId'>, private readonly clock: Clock, private readonly logger: Logger) {}

  /** Starts after what storage holds now: earlier events reach a subscriber as its snapshot, read from storage. */
  async start(): Promise<void> {
    this.lastSeen = await this.revocations.lastEventId()
  }

  /** The newest event id this replica has handed to its subscribers (what a heartbeat reports). */
  get lastEventId(): number {
    return this.lastSeen
  }

  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /**
   * Reads new events and hands them out; concurrent calls share one read, and a call during a read causes one more
   * read after it, so an event committed meanwhile is never left waiting for the next trigger.
   */
  catchUp(): Promise<void> {
    if (this.reading !== undefined) {
      this.again = true
      return this.reading
    }
    this.reading = this.read().finally(() => {
      this.reading = undefined
      if (this.again) {
        this.again = false
        void this.catchUp()
      }
    })
    return this.reading
  }

  private async read(): Promise<void> {
    try {
      for (;;) {
        const events = await this.revocations.eventsAfter(this.lastSeen, this.clock.nowMs(), PAGE)
        if (events.length === 0) return
        this.lastSeen = (events.at(-1) as StoredRevocationEvent).eventId
        for (const listener of this.listeners) {
          try {
            listener(events)
          } catch (error) {
            this.logger.error('a revocation subscriber failed', { error: String(error) })
          }
        }
        if (events.length < PAGE) return
      }
    } catch (error) {
      // The next trigger (at the latest the backstop timer) reads again from the same id: nothing is skipped.
      this.logger.warn('reading revocation events failed; retrying at the next poll', { error: String(error) })
    }
  }
}
