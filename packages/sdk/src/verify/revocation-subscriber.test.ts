import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withCapability } from '../middleware/node-http-guard.js'
import { AUDIENCE, ISSUER, NOW, capabilityClaims, generateTestKey, signCapability, type TestKey } from './capability-token.fixture.js'
import { createCapabilityVerifier, type CapabilityVerifier } from './capability-verifier.js'
import { EXPECTED } from './hostile-tokens.fixture.js'
import type { RevocationEvent } from './revocation-list.js'
import { eventually, startStreamFixture, type StreamFixture } from './revocation-stream.fixture.js'
import { subscribeRevocations, type RevocationSubscriberOptions, type RevocationSubscription } from './revocation-subscriber.js'

const key: TestKey = generateTestKey('Ed25519', 'writ-k1')
let token: string
let stream: StreamFixture
let subscription: RevocationSubscription | undefined
const errors: Error[] = []

beforeAll(async () => {
  token = await signCapability(key, capabilityClaims({ jti: 'jti-live', parent: 'grant-9' }))
})

afterEach(async () => {
  subscription?.close()
  subscription = undefined
  errors.length = 0
  await stream?.close()
})

function revocation(kind: RevocationEvent['kind'], target: Record<string, string>): RevocationEvent {
  // forget_after in list time (NOW-based clock below): the event still matters.
  return { kind, iss: ISSUER, ...target, revoked_at: NOW, forget_after: NOW + 600 }
}

async function subscribe(overrides: Partial<RevocationSubscriberOptions> = {}): Promise<{ verifier: CapabilityVerifier; subscription: RevocationSubscription }> {
  subscription = subscribeRevocations({
    issuer: ISSUER,
    eventsUrl: stream.url,
    accessToken: async () => 'api-token-1',
    staleAfterSeconds: 2,
    backoff: { initialMs: 20, maxMs: 200 },
    list: { now: () => NOW },
    onError: (error) => errors.push(error),
    ...overrides,
  })
  const verifier = createCapabilityVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [key.publicJwk] }, now: () => NOW, isRevoked: subscription.isRevoked })
  return { verifier, subscription }
}

async function outcome(verifier: CapabilityVerifier, which = token): Promise<string> {
  return verifier.verify(which, EXPECTED).then(() => 'accepted', (error: { code?: string }) => error.code ?? String(error))
}

async function eventuallyOutcome(verifier: CapabilityVerifier, expected: string, which = token): Promise<void> {
  const deadline = Date.now() + 10_000
  let last = await outcome(verifier, which)
  while (last !== expected) {
    if (Date.now() > deadline) throw new Error(`still ${last}, expected ${expected}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
    last = await outcome(verifier, which)
  }
}

describe('subscribeRevocations', () => {
  it('loads the snapshot, then refuses a token revoked live, with the API token and no Last-Event-ID on first connect', async () => {
    stream = await startStreamFixture()
    stream.revoke(revocation('token', { jti: 'someone-else' }))
    const seen: number[] = []
    const { verifier, subscription } = await subscribe({ onRevocation: (_event, id) => seen.push(id) })
    await subscription.ready
    expect(subscription.list.size).toBe(1)
    expect(stream.requests[0]).toMatchObject({ authorization: 'Bearer api-token-1', accept: 'text/event-stream' })
    expect(stream.requests[0]!['last-event-id']).toBeUndefined()
    expect(await outcome(verifier)).toBe('accepted')
    stream.revoke(revocation('token', { jti: 'jti-live' }))
    await eventuallyOutcome(verifier, 'TOKEN_REVOKED')
    expect(subscription.status()).toMatchObject({ connected: true, synced: true, fresh: true, lastEventId: 2, size: 2 })
    expect(seen).toEqual([1, 2])
  })

  it('refuses by each kind: parent grant, task, killed agent, signing key', async () => {
    stream = await startStreamFixture()
    const { verifier, subscription } = await subscribe()
    await subscription.ready
    const cases: Array<[RevocationEvent, string]> = [
      [revocation('delegation', { jti: 'grant-9' }), await signCapability(key, capabilityClaims({ jti: 'a', parent: 'grant-9' }))],
      [revocation('task', { task_id: 'T-77' }), await signCapability(key, capabilityClaims({ jti: 'b', task: { id: 'T-77' } }))],
      [revocation('agent', { agent_id: 'agent-mid' }), await signCapability(key, capabilityClaims({ jti: 'c', act: { sub: 'agent-top', act: { sub: 'agent-mid' } } }))],
    ]
    for (const [event, which] of cases) {
      expect(await outcome(verifier, which)).toBe('accepted')
      stream.revoke(event)
      await eventuallyOutcome(verifier, 'TOKEN_REVOKED', which)
    }
    stream.revoke(revocation('key', { kid: 'writ-k1' }))
    await eventuallyOutcome(verifier, 'TOKEN_REVOKED', await signCapability(key, capabilityClaims({ jti: 'd', task: { id: 'T-other' } })))
  })

  it('strict: refuses with REVOCATION_STALE before the first snapshot, when the stream stalls, and recovers when it resumes', async () => {
    stream = await startStreamFixture({ heartbeatMs: 100 })
    stream.pauseHeartbeats(true)
    const { verifier, subscription } = await subscribe({ staleAfterSeconds: 1 })
    await eventually(() => stream.open === 1)
    expect(await outcome(verifier)).toBe('REVOCATION_STALE')
    stream.pauseHeartbeats(false)
    await subscription.ready
    expect(await outcome(verifier)).toBe('accepted')
    stream.pauseHeartbeats(true)
    await eventuallyOutcome(verifier, 'REVOCATION_STALE')
    expect(subscription.status().fresh).toBe(false)
    stream.pauseHeartbeats(false)
    await eventuallyOutcome(verifier, 'accepted')
  })

  it('behind the node:http middleware, a stale list is answered 503 temporarily_unavailable, not 401', async () => {
    stream = await startStreamFixture()
    stream.pauseHeartbeats(true)
    const { verifier } = await subscribe()
    const handler = withCapability({ verifier, origin: 'https://api.example', expected: () => EXPECTED }, (_request, response) => { response.end('served') })
    const server = createServer((request, response) => void handler(request, response))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/deploy`, { headers: { authorization: `Bearer ${token}` } })
      expect(response.status).toBe(503)
      expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable', writ_code: 'REVOCATION_STALE' })
    } finally {
      server.close()
    }
  })

  it('strict: after a reconnect, events of the backlog do not make a stale list current before its heartbeat', async () => {
    stream = await startStreamFixture({ heartbeatMs: 100 })
    const { verifier, subscription } = await subscribe({ staleAfterSeconds: 1 })
    await subscription.ready
    stream.pauseHeartbeats(true)
    await eventuallyOutcome(verifier, 'REVOCATION_STALE')
    stream.dropAll()
    await eventually(() => stream.open === 1 && stream.requests.length >= 2)
    stream.revoke(revocation('token', { jti: 'someone-else' }))
    await eventually(() => subscription.list.lastEventId === 1)
    expect(await outcome(verifier)).toBe('REVOCATION_STALE')
    stream.pauseHeartbeats(false)
    await eventuallyOutcome(verifier, 'accepted')
  })

  it('reloads the snapshot when the stream\'s event ids went back, instead of resuming past its new events', async () => {
    stream = await startStreamFixture({ heartbeatMs: 100 })
    const { verifier, subscription } = await subscribe()
    await subscription.ready
    stream.revoke(revocation('token', { jti: 'a' }))
    stream.revoke(revocation('token', { jti: 'b' }))
    await eventually(() => subscription.list.lastEventId === 2)
    stream.forgetEvents()
    stream.revoke(revocation('token', { jti: 'jti-live' })) // id 1 again, on a server that lost the old ones
    stream.dropAll()
    await eventuallyOutcome(verifier, 'TOKEN_REVOKED')
    expect(stream.requests.some((headers, i) => i > 0 && headers['last-event-id'] === undefined)).toBe(true)
    expect(subscription.list.size).toBe(3) // what was known stays revoked
  })

  it('best_effort: answers from the last known list before the snapshot and while the stream is stalled', async () => {
    stream = await startStreamFixture()
    stream.pauseHeartbeats(true)
    const { verifier } = await subscribe({ mode: 'best_effort', staleAfterSeconds: 1 })
    expect(await outcome(verifier)).toBe('accepted')
    stream.revoke(revocation('token', { jti: 'jti-live' }))
    await eventuallyOutcome(verifier, 'TOKEN_REVOKED')
  })

  it('resumes with Last-Event-ID after a dropped connection and misses nothing revoked meanwhile', async () => {
    stream = await startStreamFixture()
    const { verifier, subscription } = await subscribe()
    await subscription.ready
    stream.revoke(revocation('token', { jti: 'first' }))
    await eventually(() => subscription.list.lastEventId === 1)
    stream.failNext(2, 503) // the control plane is briefly away: the subscriber backs off and retries
    stream.dropAll()
    await eventually(() => stream.requests.length >= 2)
    stream.revoke(revocation('token', { jti: 'jti-live' })) // committed while no stream was open
    await eventuallyOutcome(verifier, 'TOKEN_REVOKED')
    const resumed = stream.requests.slice(1)
    expect(resumed.every((headers) => headers['last-event-id'] === '1')).toBe(true)
    expect(subscription.list.size).toBe(2)
    expect(errors.map((e) => e.message).join('\n')).not.toContain('api-token-1')
  })

  it('backs off from a stream that ends as soon as it opens instead of reconnecting in a tight loop', async () => {
    stream = await startStreamFixture({ endAfterSnapshot: true })
    const { subscription } = await subscribe({ backoff: { initialMs: 50, maxMs: 400 } })
    await subscription.ready
    const started = Date.now()
    await eventually(() => Date.now() - started >= 1_500)
    // Immediate, then 50, 100, 200, 400, 400 ms (±jitter): a handful of connections, not hundreds.
    expect(stream.requests.length).toBeLessThanOrEqual(10)
    expect(stream.requests.length).toBeGreaterThanOrEqual(3)
  })

  it('fetches a new API token when the stream answers 401, and renews it before it expires', async () => {
    const now = Math.floor(Date.now() / 1000)
    const jwt = (n: number, exp: number): string => `x.${Buffer.from(JSON.stringify({ exp, n })).toString('base64url')}.y`
    const first = jwt(1, now + 3)
    const second = jwt(2, now + 600)
    stream = await startStreamFixture({ tokens: [first] })
    const handed: boolean[] = []
    const { subscription } = await subscribe({
      accessToken: async ({ refresh }) => {
        handed.push(refresh)
        return handed.length === 1 ? first : second
      },
    })
    await subscription.ready
    // The first token expires in 3 s: the subscriber renews it ahead of time and reconnects with the new one,
    // which this stream refuses until it learns it (a 401, then a refresh, then success).
    await eventually(() => stream.requests.length >= 2)
    stream.acceptedTokens.add(second)
    await eventually(() => stream.requests.some((h) => h.authorization === `Bearer ${second}`) && stream.open === 1)
    expect(handed[0]).toBe(false)
    expect(handed.slice(1).every(Boolean)).toBe(true)
  })

  it('takes a ResourceServerClient (anything with apiToken) as the token source', async () => {
    stream = await startStreamFixture()
    const asked: Array<[string, boolean | undefined]> = []
    const client = {
      apiToken: async (scope: string, options?: { refresh?: boolean }) => {
        asked.push([scope, options?.refresh])
        return { token: 'api-token-1', expiresAt: Math.floor(Date.now() / 1000) + 600 }
      },
    }
    const { subscription } = await subscribe({ accessToken: client })
    await subscription.ready
    expect(asked).toEqual([['writ:revocations', false]])
    expect(() => subscribeRevocations({ issuer: ISSUER })).toThrow(TypeError)
    expect(() => subscribeRevocations({ issuer: ISSUER, accessToken: client, clientId: 'rs' })).toThrow(TypeError)
  })

  it('ignores an unknown kind, and stops counting as current after an unreadable event (fail closed)', async () => {
    stream = await startStreamFixture()
    const { verifier, subscription } = await subscribe()
    await subscription.ready
    stream.revokeRaw(JSON.stringify({ kind: 'tenant', iss: ISSUER, tenant: 'x', revoked_at: NOW, forget_after: NOW + 5 }))
    await eventually(() => subscription.list.lastEventId === 1)
    expect(await outcome(verifier)).toBe('accepted')
    // Stored on the server, so every resume replays it: the subscriber never counts as current again.
    stream.revokeRaw(`{"kind":"token","iss":"${ISSUER}","jti":42}`)
    await eventuallyOutcome(verifier, 'REVOCATION_STALE')
    await eventually(() => stream.requests.length >= 3)
    expect(await outcome(verifier)).toBe('REVOCATION_STALE')
    expect(subscription.list.lastEventId).toBe(1)
    expect(errors.some((e) => e.message.includes('malformed'))).toBe(true)
  })

  it.each([
    ['an event without an id', `event: revocation\ndata: {}\n\n`],
    ['data that is not JSON', `id: 5\nevent: revocation\ndata: {not json\n\n`],
    ['an oversized line', `data: ${'x'.repeat(64 * 1024)}`],
  ])('treats %s as a broken stream: reconnects, and is not current until a clean snapshot', async (_name, raw) => {
    stream = await startStreamFixture()
    const { subscription } = await subscribe()
    await subscription.ready
    stream.sendRaw(raw)
    await eventually(() => stream.requests.length >= 2)
    expect(errors.length).toBeGreaterThan(0)
    await eventually(() => subscription.status().synced)
  })

  it('refuses a response that is not an event stream, and an http url off loopback', async () => {
    stream = await startStreamFixture()
    stream.failNext(1, 200)
    const { subscription } = await subscribe()
    await subscription.ready
    expect(errors.some((e) => e.message.includes('text/event-stream'))).toBe(true)
    expect(() => subscribeRevocations({ issuer: 'http://writ.example', accessToken: async () => 't' })).toThrow(TypeError)
    expect(() => subscribeRevocations({ issuer: ISSUER, accessToken: async () => 't', mode: 'lenient' as 'strict' })).toThrow(TypeError)
  })

  it('close() ends the stream and rejects a pending ready', async () => {
    stream = await startStreamFixture()
    stream.pauseHeartbeats(true)
    const { subscription } = await subscribe()
    await eventually(() => stream.open === 1)
    subscription.close()
    await expect(subscription.ready).rejects.toThrow(/closed/)
    await eventually(() => stream.open === 0)
  })
})
