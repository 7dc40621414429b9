import { describe, expect, it } from 'vitest'
import { timeOrderedId } from './token-id.js'

describe('timeOrderedId', () => {
  it('is an RFC 9562 version 7 UUID carrying the time in its first 48 bits', () => {
    const now = Date.UTC(2026, 11, 1, 12, 0, 0, 123)
    const id = timeOrderedId(now)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(now)
  })

  it('orders ids of later milliseconds after earlier ones and never repeats', () => {
    const ids = Array.from({ length: 2_000 }, (_, i) => timeOrderedId(1_700_000_000_000 + Math.floor(i / 10)))
    expect(new Set(ids).size).toBe(ids.length)
    for (let i = 10; i < ids.length; i += 10) expect((ids[i - 1] as string) < (ids[i] as string)).toBe(true)
  })
})
