import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { getRequestListener } from '@hono/node-server'
import { createCapabilityVerifier, subscribeRevocations, type RevocationSubscription } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { registerResourceServer, type TestResourceServer } from '../resource-servers/resource-server-test.fixture.js'
import { readSse } from './sse-reader.fixture.js'

const AUDIENCE = 'https://billing.example.com'

// The whole path over real HTTP: an admin kills an agent; the control plane refuses it at once, and a resource server's
// SDK verifier, subscribed to the stream with Writ's API token, rejects the token the agent already holds.
describe('the kill switch reaches a subscribed verifier', () => {
  let t: TestApp
  let server: Server
  let base: string
  let bot: TestAgent
  let rs: TestResourceServer
  let subscription: RevocationSubscription | undefined
  beforeEach(async () => {
    t = await createTestApp({ config: { revocation: { heartbeatSeconds: 1 } } })
    server = createServer(getRequestListener(t.app.publicApp.fetch))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    bot = await t.register(exampleDocument('deploy-bot'))
    rs = await registerResourceServer(t, 'billing-api', AUDIENCE)
  })
  afterEach(async () => {
    subscription?.close()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await t.close()
  })

  const apiToken = async (): Promise<string> => {
    const response = await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...(await rs.clientAuth()) })
    expect(response.status).toBe(200)
    return (await response.json() as { access_token: string }).access_token
  }
  const mint = async () => t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read', resource: AUDIENCE })

  it('refuses minting at once and has the verifier reject the token the agent holds', async () => {
    const { access_token: held } = await (await mint()).json() as { access_token: string }
    subscription = subscribeRevocations({
      issuer: ISSUER, eventsUrl: `${base}/revocations/events`, accessToken: apiToken, list: { now: () => t.clock.nowSeconds() },
    })
    await subscription.ready
    const verifier = createCapabilityVerifier({
      issuer: ISSUER, audience: AUDIENCE, jwks: t.app.keys.jwks() as never, now: () => t.clock.nowSeconds(), isRevoked: subscription.isRevoked,
    })
    const expected = { action: 'tests.run', resource: 'repo:acme/billing' }
    await expect(verifier.verify(held, expected)).resolves.toMatchObject({ claims: { client_id: bot.agent.id } })

    const killed = await t.admin('POST', '/v1/revocations', { kind: 'agent', agent_id: bot.agent.id, reason: 'prompt injection suspected' })
    expect(killed.status).toBe(201)
    expect(await (await mint()).json()).toMatchObject({ writ_code: 'AGENT_NOT_ACTIVE' })
    const deadline = Date.now() + 10_000
    while (subscription.list.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2))
    await expect(verifier.verify(held, expected)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
  })

  it('flushes each event through the real HTTP server as it happens, and refuses a capability token or an expired API token', async () => {
    const response = await fetch(`${base}/revocations/events`, { headers: { authorization: `Bearer ${await apiToken()}` } })
    expect(response.status).toBe(200)
    const stream = readSse(response.body as ReadableStream<Uint8Array>)
    await stream.until((m) => m.some((x) => x.event === 'heartbeat'))
    await t.admin('POST', '/v1/revocations', { kind: 'task', task_id: 'T-1', reason: 'x' })
    await stream.until(() => stream.revocations().length === 1, 5_000)
    await stream.cancel()

    const { access_token: capability } = await (await mint()).json() as { access_token: string }
    const expired = await apiToken()
    t.clock.advance(16 * 60_000)
    for (const bearer of [capability, expired]) {
      const refused = await fetch(`${base}/revocations/events`, { headers: { authorization: `Bearer ${bearer}` } })
      expect(refused.status).toBe(401)
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"')
      expect(await refused.text()).not.toContain('T-1')
    }
  })
})
