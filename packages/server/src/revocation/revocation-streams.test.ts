import { describe, expect, it } from 'vitest'
import { fixedClock } from '../clock.js'
import { createLogger } from '../logger.js'
import type { RevocationFeed, FeedListener } from './revocation-feed.js'
import { RevocationStreams } from './revocation-streams.js'
import type { StoredRevocationEvent } from './revocation.js'
import { readSse } from './sse-reader.fixture.js'

const event = (eventId: number): StoredRevocationEvent => ({
  eventId, event: { kind: 'token', iss: 'https://writ.example', jti: `jti-${eventId}-${'x'.repeat(200)}`, revoked_at: 1, forget_after: 2 },
})

function setUp() {
  const clock = fixedClock(Date.UTC(2026, 0, 1))
  let listener: FeedListener = () => undefined
  const feed = { subscribe: (l: FeedListener) => { listener = l; return () => undefined }, lastEventId: 0 } as unknown as RevocationFeed
  const streams = new RevocationStreams({
    revocations: { eventsAfter: async () => [] }, feed, clock, logger: createLogger('silent', clock), heartbeatSeconds: 60, maxStreams: 10,
  })
  streams.start()
  return { streams, clock, broadcast: (events: StoredRevocationEvent[]) => listener(events) }
}

describe('RevocationStreams', () => {
  it('drops a consumer that stops reading once it is 1 MiB behind, and keeps serving the others', async () => {
    const { streams, clock, broadcast } = setUp()
    const stalled = streams.open(0, { clientId: 'slow', expMs: clock.nowMs() + 60_000 })
    const reader = readSse(streams.open(0, { clientId: 'fast', expMs: clock.nowMs() + 60_000 }))
    await reader.until((m) => m.some((x) => x.event === 'heartbeat'))
    expect(streams.size).toBe(2)
    // ~260 bytes an event: 5,000 events are over 1 MiB for the stream nobody reads.
    for (let i = 1; i <= 5_000; i += 100) {
      broadcast(Array.from({ length: 100 }, (_, j) => event(i + j)))
      // The reading consumer gets a turn between batches, as between commits; the stalled one never reads.
      await new Promise((r) => setTimeout(r, 1))
    }
    expect(streams.size).toBe(1)
    await expect(stalled.getReader().read()).rejects.toThrow('revocation stream dropped')
    await reader.until(() => reader.revocations().length === 5_000)
    expect(reader.revocations().at(-1)?.id).toBe(5_000)
    streams.close()
    await reader.until(() => reader.ended)
  })

  it('writes each event once even when the backlog and a live broadcast overlap', async () => {
    const clock = fixedClock(0)
    let listener: FeedListener = () => undefined
    const feed = { subscribe: (l: FeedListener) => { listener = l; return () => undefined }, lastEventId: 3 } as unknown as RevocationFeed
    let release!: () => void
    const gate = new Promise<void>((r) => { release = r })
    const streams = new RevocationStreams({
      revocations: { eventsAfter: async () => { await gate; return [event(1), event(2), event(3)] } },
      feed, clock, logger: createLogger('silent', clock), heartbeatSeconds: 60, maxStreams: 10,
    })
    streams.start()
    const reader = readSse(streams.open(0, { clientId: 'c', expMs: 60_000 }))
    // Committed while the backlog was being read: 2 and 3 are in both, 4 only live.
    listener([event(2), event(3), event(4)])
    release()
    await reader.until(() => reader.messages.some((m) => m.event === 'heartbeat'))
    expect(reader.revocations().map((e) => e.id)).toEqual([1, 2, 3, 4])
    streams.close()
  })
})
