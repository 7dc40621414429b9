import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ExpiryQueue } from './expiry-queue.js'

describe('ExpiryQueue', () => {
  it('pops exactly the items due by a time, earliest first, and keeps the rest (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1_000 })), fc.array(fc.integer({ min: 0, max: 1_000 }), { maxLength: 5 }), (times, cuts) => {
      const queue = new ExpiryQueue<number>()
      times.forEach((time, index) => queue.push(time, index))
      const remaining = times.map((time, index) => ({ time, index }))
      for (const cut of [...cuts].sort((a, b) => a - b)) {
        const popped: number[] = []
        queue.popUntil(cut, (_item, time) => popped.push(time))
        const due = remaining.filter((r) => r.time <= cut).map((r) => r.time).sort((a, b) => a - b)
        expect(popped).toEqual(due)
        remaining.splice(0, remaining.length, ...remaining.filter((r) => r.time > cut))
        expect(queue.size).toBe(remaining.length)
      }
    }))
  })
})
