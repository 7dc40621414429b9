import fc from 'fast-check'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { parseRevocationEvent, RevocationList, type RevocableClaims, type RevocationEvent } from './revocation-list.js'

const ISS = 'https://writ.example'
const NOW = 1_800_000_000

function claims(overrides: Partial<RevocableClaims> = {}): RevocableClaims {
  return { iss: ISS, jti: 'tok-1', sub: 'agent-a', client_id: 'agent-a', iat: NOW - 10, task: { id: 'T-1' }, ...overrides }
}

function event(kind: RevocationEvent['kind'], target: Record<string, string>, more: Partial<RevocationEvent> = {}): RevocationEvent {
  return { kind, iss: ISS, ...target, revoked_at: NOW, forget_after: NOW + 900, ...more }
}

describe('RevocationList', () => {
  it('rejects nothing while empty', () => {
    expect(new RevocationList().isRevoked(claims(), 'kid-1', NOW)).toBe(false)
  })

  it('rejects a token by (iss, jti) and not the same jti from another issuer', () => {
    const list = new RevocationList()
    list.apply(event('token', { jti: 'tok-1' }))
    expect(list.isRevoked(claims(), undefined, NOW)).toBe(true)
    expect(list.isRevoked(claims({ iss: 'https://other.example' }), undefined, NOW)).toBe(false)
    expect(list.isRevoked(claims({ jti: 'tok-2' }), undefined, NOW)).toBe(false)
  })

  it('rejects a token whose parent grant is revoked', () => {
    const list = new RevocationList()
    list.apply(event('delegation', { jti: 'grant-1' }))
    expect(list.isRevoked(claims({ parent: 'grant-1' }), undefined, NOW)).toBe(true)
    expect(list.isRevoked(claims({ parent: 'grant-2' }), undefined, NOW)).toBe(false)
    expect(list.isRevoked(claims({ jti: 'grant-1' }), undefined, NOW)).toBe(false)
  })

  it('rejects a token of a revoked task and one signed by a revoked key', () => {
    const list = new RevocationList()
    list.apply(event('task', { task_id: 'T-1' }))
    list.apply(event('key', { kid: 'kid-old' }))
    expect(list.isRevoked(claims(), undefined, NOW)).toBe(true)
    expect(list.isRevoked(claims({ task: { id: 'T-2' } }), 'kid-old', NOW)).toBe(true)
    expect(list.isRevoked(claims({ task: { id: 'T-2' } }), 'kid-new', NOW)).toBe(false)
  })

  it('rejects tokens naming a killed agent as client, subject or any actor, issued up to the kill', () => {
    const list = new RevocationList()
    list.apply(event('agent', { agent_id: 'agent-x' }))
    expect(list.isRevoked(claims({ client_id: 'agent-x', sub: 'agent-x' }), undefined, NOW)).toBe(true)
    expect(list.isRevoked(claims({ sub: 'agent-x' }), undefined, NOW)).toBe(true)
    expect(list.isRevoked(claims({ act: { sub: 'agent-b', act: { sub: 'agent-x' } } }), undefined, NOW)).toBe(true)
    expect(list.isRevoked(claims({ act: { sub: 'agent-b' } }), undefined, NOW)).toBe(false)
    // Reactivated later: a token minted after the kill is valid again.
    expect(list.isRevoked(claims({ client_id: 'agent-x', iat: NOW + 1 }), undefined, NOW + 2)).toBe(false)
  })

  it('keeps the later of two events for one target', () => {
    const list = new RevocationList()
    list.apply(event('agent', { agent_id: 'agent-x' }, { revoked_at: NOW + 100, forget_after: NOW + 1000 }))
    list.apply(event('agent', { agent_id: 'agent-x' }, { revoked_at: NOW, forget_after: NOW + 900 }))
    expect(list.isRevoked(claims({ client_id: 'agent-x', iat: NOW + 50 }), undefined, NOW + 60)).toBe(true)
    expect(list.size).toBe(1)
  })

  it('forgets entries after forget_after, so memory stays bounded', () => {
    const list = new RevocationList({ graceSeconds: 0 })
    for (let i = 0; i < 10_000; i++) list.apply(event('token', { jti: `t-${i}` }, { forget_after: NOW + (i % 10) }))
    expect(list.size).toBe(10_000)
    expect(list.prune(NOW + 5)).toBe(6_000)
    expect(list.size).toBe(4_000)
    expect(list.isRevoked(claims({ jti: 't-9' }), undefined, NOW + 5)).toBe(true)
    expect(list.isRevoked(claims({ jti: 't-9' }), undefined, NOW + 9)).toBe(false)
    list.prune(NOW + 10)
    expect(list.size).toBe(0)
  })
})

describe('RevocationList over time', () => {
  it('keeps an entry for the grace past forget_after, since a verifier accepts a token for its leeway after exp', () => {
    const list = new RevocationList({ graceSeconds: 60 })
    list.apply(event('token', { jti: 'tok-1' }, { forget_after: NOW + 100 }))
    expect(list.isRevoked(claims(), undefined, NOW + 159)).toBe(true)
    expect(list.prune(NOW + 159)).toBe(0)
    expect(list.isRevoked(claims(), undefined, NOW + 160)).toBe(false)
    expect(list.prune(NOW + 160)).toBe(1)
  })

  it('remembers the greatest event id applied or noted, and refuses ids that are not integers', () => {
    const list = new RevocationList()
    expect(list.lastEventId).toBeUndefined()
    list.apply(event('token', { jti: 'a' }), 7)
    list.apply(event('token', { jti: 'b' }), 5)
    expect(list.lastEventId).toBe(7)
    list.noteEventId(9)
    expect(list.lastEventId).toBe(9)
    expect(() => list.noteEventId(1.5)).toThrow(TypeError)
    expect(() => list.noteEventId(-1)).toThrow(TypeError)
  })

  it('drops what has expired on each apply, with its own clock', () => {
    let now = NOW
    const list = new RevocationList({ graceSeconds: 0, now: () => now })
    for (let i = 0; i < 9; i++) list.apply(event('token', { jti: `old-${i}` }, { forget_after: NOW + 1 }))
    now = NOW + 5
    expect(list.size).toBe(9)
    list.apply(event('token', { jti: 'new' }, { forget_after: NOW + 100 }))
    expect(list.size).toBe(1)
  })

  it('stays bounded by rate × lifetime over 1,000,000 revocations issued over simulated time', () => {
    // 1,000 revocations a second for 1,000 simulated seconds, each mattering for 5 minutes (+ 60 s grace).
    const rate = 1_000
    const lifetime = 300
    const grace = 60
    let now = NOW
    const list = new RevocationList({ graceSeconds: grace, now: () => now })
    const gc = exposedGc()
    const bound = rate * (lifetime + grace + 1)
    let maxSize = 0
    let heapAtSteadyState = 0
    const kinds = ['token', 'delegation', 'task', 'agent'] as const
    const members = { token: 'jti', delegation: 'jti', task: 'task_id', agent: 'agent_id' } as const
    for (let i = 0; i < 1_000_000; i++) {
      if (i % rate === 0) now++
      const kind = kinds[i & 3]!
      list.apply({ kind, iss: ISS, [members[kind]]: `target-${i}`, revoked_at: now, forget_after: now + lifetime }, i + 1)
      if (list.size > maxSize) maxSize = list.size
      if (i === 500_000) {
        gc()
        heapAtSteadyState = process.memoryUsage().heapUsed
      }
    }
    expect(list.lastEventId).toBe(1_000_000)
    expect(maxSize).toBeLessThanOrEqual(bound)
    expect(list.size).toBeGreaterThan(rate * lifetime / 2)
    // From mid-run (already at steady state) to the end, the heap must not grow with the number of events seen.
    gc()
    expect(process.memoryUsage().heapUsed - heapAtSteadyState).toBeLessThan(32 * 1024 * 1024)
    now += lifetime + grace + 1
    list.prune(now)
    expect(list.size).toBe(0)
  }, 60_000)

  it('matches a brute-force model of the rules for any set of events and any token (property)', () => {
    const id = fc.constantFrom('a', 'b', 'c')
    const eventArb = fc.record({
      kind: fc.constantFrom(...(['token', 'task', 'delegation', 'agent', 'key'] as const)),
      iss: fc.constantFrom(ISS, 'https://other.example'),
      target: id,
      revoked_at: fc.integer({ min: NOW - 50, max: NOW + 50 }),
      life: fc.integer({ min: 0, max: 100 }),
    })
    const actorChain = fc.array(id, { maxLength: 3 })
    const tokenArb = fc.record({
      iss: fc.constantFrom(ISS, 'https://other.example'), jti: id, sub: id, client_id: id, parent: fc.option(id, { nil: undefined }),
      task: fc.option(id, { nil: undefined }), iat: fc.integer({ min: NOW - 60, max: NOW + 60 }), actors: actorChain, kid: fc.option(id, { nil: undefined }),
      now: fc.integer({ min: NOW - 10, max: NOW + 160 }),
    })
    fc.assert(fc.property(fc.array(eventArb, { maxLength: 8 }), tokenArb, (events, t) => {
      // The list's own clock stays before every event's forget_after: what is checked here is the rules at t.now.
      const list = new RevocationList({ graceSeconds: 0, now: () => NOW - 1_000 })
      for (const e of events) {
        const member = { token: 'jti', delegation: 'jti', task: 'task_id', agent: 'agent_id', key: 'kid' }[e.kind]
        list.apply({ kind: e.kind, iss: e.iss, [member]: e.target, revoked_at: e.revoked_at, forget_after: e.revoked_at + e.life })
      }
      let act: RevocableClaims['act']
      for (const actor of [...t.actors].reverse()) act = act === undefined ? { sub: actor } : { sub: actor, act }
      const token: RevocableClaims = {
        iss: t.iss, jti: t.jti, sub: t.sub, client_id: t.client_id, iat: t.iat, parent: t.parent, act,
        ...(t.task === undefined ? {} : { task: { id: t.task } }),
      }
      const expected = events.some((e) => {
        if (e.iss !== t.iss || e.revoked_at + e.life <= t.now) return false
        switch (e.kind) {
          case 'token': return e.target === t.jti
          case 'delegation': return e.target === t.parent
          case 'task': return e.target === t.task
          case 'key': return e.target === t.kid
          case 'agent': {
            // The later of several kills of one agent is what counts (its revoked_at and forget_after are merged).
            const kills = events.filter((k) => k.kind === 'agent' && k.iss === t.iss && k.target === e.target)
            const revokedAt = Math.max(...kills.map((k) => k.revoked_at))
            const named = [t.client_id, t.sub, ...t.actors].includes(e.target)
            return named && t.iat <= revokedAt
          }
        }
      })
      expect(list.isRevoked(token, t.kid, t.now)).toBe(expected)
    }), { numRuns: 2_000 })
  })
})

describe('parseRevocationEvent', () => {
  it('accepts each kind with its target member and drops anything else', () => {
    expect(parseRevocationEvent({ kind: 'task', iss: ISS, task_id: 'T-1', revoked_at: 1, forget_after: 2, extra: 'x' }))
      .toEqual({ kind: 'task', iss: ISS, task_id: 'T-1', revoked_at: 1, forget_after: 2 })
    expect(parseRevocationEvent({ kind: 'delegation', iss: ISS, jti: 'g', revoked_at: 1, forget_after: 2 })).toMatchObject({ jti: 'g' })
  })

  it.each([
    ['not an object', 'token'],
    ['null', null],
    ['an array', [{ kind: 'token' }]],
    ['an unknown kind', { kind: 'everything', iss: ISS, jti: 'j', revoked_at: 1, forget_after: 2 }],
    ['the wrong target member', { kind: 'agent', iss: ISS, jti: 'j', revoked_at: 1, forget_after: 2 }],
    ['an empty target', { kind: 'token', iss: ISS, jti: '', revoked_at: 1, forget_after: 2 }],
    ['an oversized target', { kind: 'token', iss: ISS, jti: 'x'.repeat(513), revoked_at: 1, forget_after: 2 }],
    ['a missing issuer', { kind: 'token', jti: 'j', revoked_at: 1, forget_after: 2 }],
    ['a string time', { kind: 'token', iss: ISS, jti: 'j', revoked_at: '1', forget_after: 2 }],
    ['a fractional time', { kind: 'token', iss: ISS, jti: 'j', revoked_at: 1.5, forget_after: 2 }],
    ['a negative time', { kind: 'token', iss: ISS, jti: 'j', revoked_at: 1, forget_after: -2 }],
    ['a prototype key as kind', { kind: '__proto__', iss: ISS, jti: 'j', revoked_at: 1, forget_after: 2 }],
  ])('refuses %s', (_name, value) => {
    expect(parseRevocationEvent(value)).toBeUndefined()
  })
})

/** A full garbage collection, whether or not the test process was started with --expose-gc. */
function exposedGc(): () => void {
  const global = (globalThis as { gc?: () => void }).gc
  if (global !== undefined) return global
  // The flag takes effect for contexts made after it is set: a fresh one hands out its `gc`.
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}
