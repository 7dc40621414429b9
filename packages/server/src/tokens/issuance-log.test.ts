import { describe, expect, it } from 'vitest'
import { fixedClock } from '../clock.js'
import { IssuanceLog, type BatchWriter, type IssuanceEntry, type IssuanceOutcome } from './issuance-log.js'

/** A writer whose batches the test answers by hand, in any order. */
function manualWriter(): { writer: BatchWriter; calls: { entries: IssuanceEntry[]; resolve(o: IssuanceOutcome[]): void; reject(e: Error): void }[] } {
  const calls: { entries: IssuanceEntry[]; resolve(o: IssuanceOutcome[]): void; reject(e: Error): void }[] = []
  const writer: BatchWriter = (entries) => new Promise((resolve, reject) => { calls.push({ entries, resolve, reject }) })
  return { writer, calls }
}

const entry = (id: string): IssuanceEntry => ({ audit: { type: 'token.issue', actor: { kind: 'agent', id } } })
const turn = () => new Promise((resolve) => setImmediate(resolve))

describe('IssuanceLog', () => {
  it('commits the requests of one event-loop turn in one batch, and answers each with its own outcome', async () => {
    const { writer, calls } = manualWriter()
    const log = new IssuanceLog(writer, fixedClock(0), 256)
    const answers = [log.commit(entry('a')), log.commit(entry('b'))]
    await turn()
    expect(calls.map((c) => c.entries.length)).toEqual([2])
    calls[0]?.resolve(['committed', 'assertion_replayed'])
    expect(await Promise.all(answers)).toEqual(['committed', 'assertion_replayed'])
  })

  it('hands a second batch to the writer before the first is answered only when allowed to', async () => {
    for (const [maxInFlight, expected] of [[1, [1]], [2, [1, 1]]] as const) {
      const { writer, calls } = manualWriter()
      const log = new IssuanceLog(writer, fixedClock(0), 256, maxInFlight)
      const first = log.commit(entry('a'))
      await turn()
      const second = log.commit(entry('b'))
      await turn()
      expect(calls.map((c) => c.entries.length)).toEqual(expected)
      calls[0]?.resolve(['committed'])
      await first
      await turn()
      calls[1]?.resolve(['committed'])
      await expect(second).resolves.toBe('committed')
    }
  })

  it('fails closed per batch: a failed batch rejects its own requests with AUDIT_UNAVAILABLE and no other', async () => {
    const { writer, calls } = manualWriter()
    const log = new IssuanceLog(writer, fixedClock(0), 256, 2)
    const first = log.commit(entry('a'))
    await turn()
    const second = log.commit(entry('b'))
    await turn()
    calls[0]?.reject(new Error('disk full'))
    calls[1]?.resolve(['committed'])
    await expect(first).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' })
    await expect(second).resolves.toBe('committed')
  })

  it('flush waits for batches in flight and queued', async () => {
    const { writer, calls } = manualWriter()
    const log = new IssuanceLog(writer, fixedClock(0), 1, 1)
    const answers = [log.commit(entry('a')), log.commit(entry('b'))]
    let flushed = false
    const flushing = log.flush().then(() => { flushed = true })
    await turn()
    calls[0]?.resolve(['committed'])
    await answers[0]
    await turn()
    expect(flushed).toBe(false)
    calls[1]?.resolve(['committed'])
    await flushing
    expect(flushed).toBe(true)
  })
})
