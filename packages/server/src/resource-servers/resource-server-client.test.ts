/** The SDK's ResourceServerClient against the real token endpoint: Writ's API token, cached until a minute before expiry. */
import { createPrivateKey } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ResourceServerClient, WritError } from '@writ/sdk'
import { createTestApp, ISSUER, type TestApp } from '../test-app.fixture.js'
import { registerResourceServer, type TestResourceServer } from './resource-server-test.fixture.js'

describe('ResourceServerClient', () => {
  let t: TestApp
  let rs: TestResourceServer
  let requests: number
  beforeEach(async () => {
    t = await createTestApp()
    rs = await registerResourceServer(t, 'billing-api', 'https://billing.example.com')
    requests = 0
  })
  afterEach(async () => t.close())

  // The in-process app stands in for the network; the requests are the ones the client would send.
  const fetchApp = (async (url: string, init: RequestInit) => {
    if (String(url).endsWith('/oauth/token')) requests++
    return t.app.publicApp.request(url, init)
  }) as typeof fetch

  it('gets an API token that verifyApiToken accepts, and caches it until 60 s before it expires', async () => {
    const client = new ResourceServerClient({ issuer: ISSUER, clientId: rs.server.id, privateKey: rs.privateJwk, fetch: fetchApp, now: () => t.clock.nowSeconds() })
    const first = await client.apiToken()
    expect(first.expiresAt).toBe(t.clock.nowSeconds() + 300)
    expect(await t.app.verifyApiToken(first.token, 'writ:revocations')).toMatchObject({ clientId: rs.server.id })
    const [a, b] = await Promise.all([client.apiToken(), client.apiToken('writ:revocations')])
    expect(a.token).toBe(first.token)
    expect(b.token).toBe(first.token)
    expect(requests).toBe(1)
    t.clock.advance(239_000)
    expect((await client.apiToken()).token).toBe(first.token)
    t.clock.advance(2_000)
    const renewed = await client.apiToken()
    expect(renewed.token).not.toBe(first.token)
    expect((await client.apiToken('writ:revocations', { refresh: true })).token).not.toBe(renewed.token)
    expect(requests).toBe(3)
  })

  it('takes a KeyObject and the token endpoint without discovery', async () => {
    const client = new ResourceServerClient({
      tokenEndpoint: `${ISSUER}/oauth/token`, clientId: rs.server.id, privateKey: createPrivateKey({ key: rs.privateJwk, format: 'jwk' }),
      fetch: fetchApp, now: () => t.clock.nowSeconds(),
    })
    expect((await client.apiToken()).token.split('.')).toHaveLength(3)
  })

  it('surfaces a refusal as a WritError and does not cache it', async () => {
    const client = new ResourceServerClient({ issuer: ISSUER, clientId: rs.server.id, privateKey: rs.privateJwk, fetch: fetchApp, now: () => t.clock.nowSeconds() })
    const error = await client.apiToken('writ:admin').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WritError)
    expect(error).toMatchObject({ code: 'SCOPE_INVALID' })
    await t.admin('DELETE', `/v1/resource-servers/${rs.server.id}`)
    await expect(client.apiToken()).rejects.toMatchObject({ code: 'CLIENT_AUTHENTICATION_FAILED' })
    expect(() => new ResourceServerClient({ clientId: 'x', privateKey: rs.privateJwk })).toThrow(TypeError)
    await expect(new ResourceServerClient({ issuer: ISSUER, clientId: 'x', privateKey: rs.publicJwk, fetch: fetchApp }).apiToken()).rejects.toThrow(TypeError)
  })
})
