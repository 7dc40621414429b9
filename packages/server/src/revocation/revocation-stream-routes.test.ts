import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WritError } from '@writ/sdk'
import { createTestApp, ISSUER, type TestApp } from '../test-app.fixture.js'
import type { StreamAuthorization } from './revocation-streams.js'
import { readSse, type SseReader } from './sse-reader.fixture.js'

// A stand-in for Writ's API-token check (resource-servers/): only `Bearer good-<ms>` passes, valid for <ms>.
const fakeAuthorizer = (t: () => TestApp) => async (header: string | undefined): Promise<StreamAuthorization> => {
  const match = /^Bearer good-(\d+)$/.exec(header ?? '')
  if (!match) throw new WritError('TOKEN_INVALID', 'no')
  return { clientId: 'rs-1', expMs: t().clock.nowMs() + Number(match[1]) }
}

describe('revocation stream and its JSON twin', () => {
  let t: TestApp
  const readers: SseReader[] = []
  beforeEach(async () => {
    t = await createTestApp({ authorizeStream: fakeAuthorizer(() => t), config: { revocation: { heartbeatSeconds: 1 } } })
  })
  afterEach(async () => {
    for (const r of readers.splice(0)) await r.cancel()
    await t.close()
  })

  const revoke = async (jti: string) => {
    const response = await t.admin('POST', '/v1/revocations', { kind: 'token', jti, reason: 'test' })
    expect(response.status).toBe(201)
  }
  const connect = async (headers: Record<string, string> = {}, lifetimeMs = 60_000) => {
    const response = await t.app.publicApp.request('/revocations/events', { headers: { authorization: `Bearer good-${lifetimeMs}`, ...headers } })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('x-accel-buffering')).toBe('no')
    const reader = readSse(response.body as ReadableStream<Uint8Array>)
    readers.push(reader)
    return reader
  }
  const heartbeats = (r: SseReader) => r.messages.filter((m) => m.event === 'heartbeat')

  it('sends the snapshot of live events on connect, then a heartbeat naming the last id, then live events', async () => {
    await revoke('a')
    await revoke('b')
    const stream = await connect()
    await stream.until(() => heartbeats(stream).length >= 1)
    expect(stream.messages[0]).toEqual({ retry: '1000' })
    expect(stream.revocations().map((e) => [e.id, e.jti])).toEqual([[1, 'a'], [2, 'b']])
    expect(JSON.parse(heartbeats(stream)[0]?.data as string)).toEqual({ time: t.clock.nowSeconds(), last_event_id: 2 })
    await revoke('c')
    await stream.until(() => stream.revocations().length === 3)
    expect(stream.revocations()[2]).toEqual({ id: 3, kind: 'token', iss: ISSUER, jti: 'c', revoked_at: t.clock.nowSeconds(), forget_after: t.clock.nowSeconds() + 960 })
  })

  it('resumes after Last-Event-ID without a gap or a repeat, and leaves out events past forget_after', async () => {
    for (const jti of ['a', 'b', 'c']) await revoke(jti)
    const resumed = await connect({ 'last-event-id': '1' })
    await resumed.until(() => heartbeats(resumed).length >= 1)
    expect(resumed.revocations().map((e) => e.id)).toEqual([2, 3])
    t.clock.advance(961_000)
    const later = await connect()
    await later.until(() => heartbeats(later).length >= 1)
    expect(later.revocations()).toEqual([])
  })

  it('sends every event once to many streams connecting while revocations commit', async () => {
    const streams = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      if (i % 4 === 0) await revoke(`x-${i}`)
      return connect()
    }))
    await revoke('last')
    for (const s of streams) await s.until(() => s.revocations().length === 6)
    for (const s of streams) expect(s.revocations().map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('sends a heartbeat at the configured interval', async () => {
    const stream = await connect()
    await stream.until(() => heartbeats(stream).length >= 3, 10_000)
  })

  it('closes the stream when its access token expires', async () => {
    const stream = await connect({}, 300)
    await stream.until(() => stream.ended, 10_000)
    expect(t.app.revocationStreams.size).toBe(0)
  })

  it('answers polls with the events after `since` and the last id', async () => {
    for (const jti of ['a', 'b']) await revoke(jti)
    const poll = async (query: string) => t.app.publicApp.request(`/revocations${query}`, { headers: { authorization: 'Bearer good-1000' } })
    expect(await (await poll('')).json()).toEqual({
      events: [
        { id: 1, kind: 'token', iss: ISSUER, jti: 'a', revoked_at: t.clock.nowSeconds(), forget_after: t.clock.nowSeconds() + 960 },
        { id: 2, kind: 'token', iss: ISSUER, jti: 'b', revoked_at: t.clock.nowSeconds(), forget_after: t.clock.nowSeconds() + 960 },
      ],
      last_event_id: 2,
    })
    expect(await (await poll('?since=1')).json()).toMatchObject({ events: [{ id: 2 }], last_event_id: 2 })
    expect(await (await poll('?since=2')).json()).toEqual({ events: [], last_event_id: 2 })
    for (const bad of ['?since=-1', '?since=1.5', '?since=abc', '?since=99999999999999999']) expect((await poll(bad)).status).toBe(400)
  })

  it.each([
    ['no Authorization header', undefined],
    ['an empty bearer', 'Bearer '],
    ['garbage', 'Bearer x.y.z'],
    ['another scheme', 'Basic Z29vZC0x'],
    ['a token the authorizer refuses', 'Bearer good-'],
  ])('refuses a stream and a poll with %s: 401, a Bearer challenge, no event data', async (_name, authorization) => {
    await revoke('secret-jti')
    for (const path of ['/revocations/events', '/revocations']) {
      const response = await t.app.publicApp.request(path, { headers: authorization === undefined ? {} : { authorization } })
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", scope="writ:revocations"')
      const text = await response.text()
      expect(text).not.toContain('secret-jti')
      expect(JSON.parse(text)).toMatchObject({ code: 'TOKEN_INVALID' })
    }
  })

  it('refuses a malformed Last-Event-ID', async () => {
    const response = await t.app.publicApp.request('/revocations/events', { headers: { authorization: 'Bearer good-1000', 'last-event-id': 'x' } })
    expect(response.status).toBe(400)
  })

  it('advertises the stream in the authorization server metadata', async () => {
    const metadata = await (await t.app.publicApp.request('/.well-known/oauth-authorization-server')).json()
    expect(metadata).toMatchObject({ writ_revocation_events_endpoint: `${ISSUER}/revocations/events` })
  })
})

describe('revocation stream limits', () => {
  it('answers 503 beyond revocation.maxStreams, and refuses everything when no authorizer is configured', async () => {
    let t: TestApp | undefined
    t = await createTestApp({ authorizeStream: fakeAuthorizer(() => t as TestApp), config: { revocation: { maxStreams: 1 } } })
    const first = await t.app.publicApp.request('/revocations/events', { headers: { authorization: 'Bearer good-60000' } })
    expect(first.status).toBe(200)
    const second = await t.app.publicApp.request('/revocations/events', { headers: { authorization: 'Bearer good-60000' } })
    expect(second.status).toBe(503)
    expect(await second.json()).toMatchObject({ code: 'STREAM_LIMIT_REACHED' })
    await first.body?.cancel()
    await t.close()
    const closed = await createTestApp()
    expect((await closed.app.publicApp.request('/revocations/events', { headers: { authorization: 'Bearer good-60000' } })).status).toBe(401)
    await closed.close()
  })
})
