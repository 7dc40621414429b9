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
    const list = new RevocationList()
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
