import { describe, expect, it } from 'vitest'
import { TokenBuckets } from './token-buckets.js'

describe('TokenBuckets', () => {
  it('gives a burst at once, then refuses with the time until the next token', () => {
    const buckets = new TokenBuckets(2, 3, 100)
    expect([0, 0, 0].map(() => buckets.take('a', 0))).toEqual([0, 0, 0])
    expect(buckets.take('a', 0)).toBe(500)
    expect(buckets.take('a', 200)).toBe(300)
  })

  it('refills continuously: one token per interval, never more than the burst', () => {
    const buckets = new TokenBuckets(10, 2, 100)
    buckets.take('a', 0)
    buckets.take('a', 0)
    expect(buckets.take('a', 99)).toBeGreaterThan(0)
    expect(buckets.take('a', 100)).toBe(0)
    expect(buckets.take('a', 100)).toBeGreaterThan(0)
    // An hour idle still buys only the burst.
    const later = 3_600_000
    expect([0, 0].map(() => buckets.take('a', later))).toEqual([0, 0])
    expect(buckets.take('a', later)).toBe(100)
  })

  it('keeps one bucket per key', () => {
    const buckets = new TokenBuckets(1, 1, 100)
    expect(buckets.take('a', 0)).toBe(0)
    expect(buckets.take('a', 0)).toBe(1000)
    expect(buckets.take('b', 0)).toBe(0)
  })

  it('takes nothing from a refused request, so waiting the answered time is enough', () => {
    const buckets = new TokenBuckets(1, 1, 100)
    buckets.take('a', 0)
    for (let i = 0; i < 50; i++) expect(buckets.take('a', 10 * i)).toBe(1000 - 10 * i)
    expect(buckets.take('a', 1000)).toBe(0)
  })

  it('never holds more buckets than its cap, whatever the flood of new keys', () => {
    const buckets = new TokenBuckets(1, 5, 100)
    for (let i = 0; i < 10_000; i++) {
      expect(buckets.take(`made-up-${i}`, 0)).toBe(0)
      expect(buckets.size).toBeLessThanOrEqual(100)
    }
    expect(buckets.size).toBe(100)
  })

  it('makes room by dropping a full bucket before one still in debt', () => {
    const buckets = new TokenBuckets(1, 1, 3)
    buckets.take('idle', 0)
    buckets.take('hot', 1000)
    buckets.take('busy', 1000)
    // At 1000 `idle` is full again (it holds nothing), `hot` and `busy` are in debt.
    buckets.take('new', 1000)
    expect(buckets.size).toBe(3)
    expect(buckets.take('hot', 1000)).toBe(1000)
    expect(buckets.take('busy', 1000)).toBe(1000)
  })

  it('prune drops full buckets only', () => {
    const buckets = new TokenBuckets(1, 2, 100)
    buckets.take('once', 0)
    buckets.take('twice', 0)
    buckets.take('twice', 0)
    buckets.prune(1000)
    expect(buckets.size).toBe(1)
    expect(buckets.take('twice', 1000)).toBe(0)
    expect(buckets.take('twice', 1000)).toBe(1000)
  })

  it('refuses settings that cannot limit anything', () => {
    expect(() => new TokenBuckets(0, 1, 1)).toThrow(TypeError)
    expect(() => new TokenBuckets(1, 0, 1)).toThrow(TypeError)
    expect(() => new TokenBuckets(1, 1, 0)).toThrow(TypeError)
  })
})
