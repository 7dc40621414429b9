/**
 * RFC 7009 revocation and RFC 7662 introspection against a real HTTP server, with openid-client as the standard client
 * (tokenRevocation, tokenIntrospection, PrivateKeyJwt), and the hostile battery.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync, sign, webcrypto, type JsonWebKey } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { getRequestListener } from '@hono/node-server'
import * as client from 'openid-client'
import { CLIENT_ASSERTION_TYPE, TOKEN_TYPE_IDS, signClientAssertion } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { registerResourceServer, type TestResourceServer } from '../resource-servers/resource-server-test.fixture.js'
import { action, exchangeForCapability, mandate } from '../delegation/delegation-test.fixture.js'

const BILLING = 'https://billing.example.com'

describe('RFC 7009 revocation and RFC 7662 introspection', () => {
  let t: TestApp
  let http: Server
  let origin: string
  let billing: TestResourceServer
  let bot: TestAgent
  beforeEach(async () => {
    // openid-client stamps its assertions with the real time.
    t = await createTestApp({ startMs: Date.now() })
    http = createServer(getRequestListener(t.app.publicApp.fetch))
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    billing = await registerResourceServer(t, 'billing-api', BILLING)
    bot = await t.register(exampleDocument('deploy-bot'))
  })
  afterEach(async () => {
    http.close()
    await t.close()
  })

  /** An openid-client configuration for one registered client; requests to the issuer go to the real local listener. */
  const configuration = async (clientId: string, privateJwk: JsonWebKey): Promise<client.Configuration> => {
    const key = await webcrypto.subtle.importKey('jwk', privateJwk as webcrypto.JsonWebKey, { name: 'Ed25519' }, false, ['sign'])
    const customFetch = ((url: string, init: RequestInit) => fetch(String(url).replace(ISSUER, origin), init)) as typeof fetch
    const config = await client.discovery(new URL(ISSUER), clientId, {}, client.PrivateKeyJwt({ key, kid: privateJwk.kid as string }), {
      algorithm: 'oauth2', execute: [client.allowInsecureRequests], [client.customFetch]: customFetch,
    })
    return config
  }
  const capability = async (agent: TestAgent, audience = BILLING): Promise<string> => {
    const response = await t.requestCapability(agent, 'tests.run', 'repo:acme/billing', { access: 'read', resource: audience })
    expect(response.status).toBe(200)
    return ((await response.json()) as { access_token: string }).access_token
  }
  const post = async (path: string, fields: Record<string, string>) => fetch(`${origin}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(),
  })
  /** The state is fed by the committed events a moment after the revoke call returns: poll, never sleep a fixed time. */
  const eventually = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await check()) return
      await new Promise((r) => setTimeout(r, 10))
    }
    throw new Error('condition not reached in 2 s')
  }
  const audit = async (type: string) => (await t.storage.audit.tail(20)).filter((r) => r.type === type)

  it('advertises both endpoints with private_key_jwt in the RFC 8414 metadata', async () => {
    const metadata = await (await fetch(`${origin}/.well-known/oauth-authorization-server`)).json()
    expect(metadata).toMatchObject({
      revocation_endpoint: `${ISSUER}/oauth/revoke`, introspection_endpoint: `${ISSUER}/oauth/introspect`,
      revocation_endpoint_auth_methods_supported: ['private_key_jwt'], introspection_endpoint_auth_methods_supported: ['private_key_jwt'],
    })
  })

  it('openid-client: a resource server introspects a token for its audience, revokes it, and it is then inactive', async () => {
    const token = await capability(bot)
    const config = await configuration(billing.server.id, billing.privateJwk)
    const active = await client.tokenIntrospection(config, token)
    expect(active).toMatchObject({
      active: true, iss: ISSUER, sub: bot.agent.id, client_id: bot.agent.id, aud: BILLING, token_type: 'Bearer',
      authorization_details: [{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing' }], task: { id: 'T-42' },
    })
    await client.tokenRevocation(config, token, { token_type_hint: 'access_token' })
    const [record] = await audit('revocation.create')
    expect(record).toMatchObject({ actor: { kind: 'resource_server', id: billing.server.id }, data: { kind: 'token', target: active.jti } })
    await eventually(async () => (await client.tokenIntrospection(config, token)).active === false)
    expect(await client.tokenIntrospection(config, token)).toEqual({ active: false })
  })

  it('openid-client: an agent revokes its own token and its own grant; revoking the grant revokes what came from it', async () => {
    const token = await capability(bot)
    const config = await configuration(bot.agent.id, bot.privateJwk as JsonWebKey)
    await client.tokenRevocation(config, token)
    const { grant, jti } = await mandate(t, bot, [action('deploy.run', 'service:*')])
    await client.tokenRevocation(config, grant, { token_type_hint: TOKEN_TYPE_IDS.grant })
    const created = await audit('revocation.create')
    expect(created.map((r) => r.data?.kind).sort()).toEqual(['grant', 'token'])
    expect(created.every((r) => r.actor.kind === 'agent' && r.actor.id === bot.agent.id)).toBe(true)
    expect(await t.storage.grants.find(jti)).toMatchObject({ revokedBy: `agent:${bot.agent.id}` })
    const rs = await configuration(billing.server.id, billing.privateJwk)
    await eventually(async () => (await client.tokenIntrospection(rs, token)).active === false)
    // Revoking again is still a success (RFC 7009 §2.2).
    await client.tokenRevocation(config, grant)
  })

  it('hostile: an unauthenticated caller, a replayed assertion and a removed resource server get invalid_client', async () => {
    const token = await capability(bot)
    for (const path of ['/oauth/revoke', '/oauth/introspect']) {
      const none = await post(path, { token })
      expect(none.status, path).toBe(401)
      expect(await none.json(), path).toMatchObject({ error: 'invalid_client' })
      const auth = await billing.clientAuth()
      expect((await post(path, { token, ...auth })).status, path).toBe(200)
      const replay = await post(path, { token, ...auth })
      expect(replay.status, path).toBe(401)
    }
    const gone = await registerResourceServer(t, 'gone-api', 'urn:example:gone')
    await t.admin('DELETE', `/v1/resource-servers/${gone.server.id}`)
    expect((await post('/oauth/introspect', { token, ...(await gone.clientAuth()) })).status).toBe(401)
  })

  it('hostile: a foreign resource server learns nothing about another audience\'s token, and cannot revoke it', async () => {
    const token = await capability(bot)
    const other = await registerResourceServer(t, 'other-api', 'urn:example:other')
    const config = await configuration(other.server.id, other.privateJwk)
    expect(await client.tokenIntrospection(config, token)).toEqual({ active: false })
    await client.tokenRevocation(config, token)
    expect(await audit('revocation.create')).toHaveLength(0)
    expect(await audit('revocation.deny')).toMatchObject([{ actor: { kind: 'resource_server', id: other.server.id }, decision: { reasons: ['not_own_audience'] } }])
    expect((await client.tokenIntrospection(await configuration(billing.server.id, billing.privateJwk), token)).active).toBe(true)
  })

  it('hostile: an agent revoking another agent\'s token gets 200, nothing is revoked, and the refusal is audited', async () => {
    const other = await t.register({ ...exampleDocument('deploy-bot'), name: 'other-bot' })
    const token = await capability(other)
    const response = await post('/oauth/revoke', { token, client_id: bot.agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await bot.assertion() })
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('')
    expect(await audit('revocation.create')).toHaveLength(0)
    const [refusal] = await audit('revocation.deny')
    expect(refusal).toMatchObject({ actor: { kind: 'agent', id: bot.agent.id }, decision: { reasons: ['not_own_token'] } })
    expect(JSON.stringify(refusal)).not.toContain(token.split('.')[2])
    expect((await client.tokenIntrospection(await configuration(billing.server.id, billing.privateJwk), token)).active).toBe(true)
  })

  it('hostile: malformed token_type_hint is invalid_request; an unknown hint is ignored', async () => {
    const token = await capability(bot)
    for (const hint of ['x'.repeat(129), 'access_token\n', 'a b']) {
      for (const path of ['/oauth/revoke', '/oauth/introspect']) {
        const response = await post(path, { token, token_type_hint: hint, ...(await billing.clientAuth()) })
        expect(response.status, path).toBe(400)
        expect(await response.json(), path).toMatchObject({ error: 'invalid_request' })
      }
    }
    const ok = await post('/oauth/introspect', { token, token_type_hint: 'refresh_token', ...(await billing.clientAuth()) })
    expect(await ok.json()).toMatchObject({ active: true })
  })

  it('hostile: a token signed by another key, a grant, garbage, an expired token and an agent asking are all inactive', async () => {
    const token = await capability(bot)
    const [header, payload] = token.split('.') as [string, string, string]
    const { privateKey } = generateKeyPairSync('ed25519')
    const forged = `${header}.${payload}.${sign(null, Buffer.from(`${header}.${payload}`), privateKey).toString('base64url')}`
    const { grant } = await mandate(t, bot, [action('deploy.run', 'service:*')])
    const config = await configuration(billing.server.id, billing.privateJwk)
    for (const presented of [forged, grant, 'garbage', `${header}.${payload}.`]) {
      expect(await client.tokenIntrospection(config, presented)).toEqual({ active: false })
      await client.tokenRevocation(config, presented)
    }
    expect(await audit('revocation.create')).toHaveLength(0)
    // An agent gets no answers from introspection, even about its own token.
    const agentConfig = await configuration(bot.agent.id, bot.privateJwk as JsonWebKey)
    expect(await client.tokenIntrospection(agentConfig, token)).toEqual({ active: false })
    expect(await audit('introspection.deny')).toMatchObject([{ actor: { kind: 'agent', id: bot.agent.id } }])
    t.clock.advance(301_000)
    const assertion = await signClientAssertion({ privateKey: billing.privateJwk, agentId: billing.server.id, audience: ISSUER, now: () => t.clock.nowSeconds() })
    const expired = await post('/oauth/introspect', { token, client_id: billing.server.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion })
    expect(await expired.json()).toEqual({ active: false })
  })

  it('introspection shows the delegation lineage of an active token (parent grant, the human as sub)', async () => {
    const { grant, jti } = await mandate(t, bot, [action('tests.run', 'repo:*')])
    const exchanged = await exchangeForCapability(t, bot, grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }), { resource: BILLING, task_id: 'T-9' })
    expect(exchanged.status).toBe(200)
    const token = ((await exchanged.json()) as { access_token: string }).access_token
    const answer = await client.tokenIntrospection(await configuration(billing.server.id, billing.privateJwk), token)
    expect(answer).toMatchObject({ active: true, parent: jti, sub: 'alice@example.com', client_id: bot.agent.id })
  })
})
