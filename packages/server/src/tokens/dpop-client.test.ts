/**
 * DPoP end to end: the SDK's agent client with `dpop` gets bound tokens from Writ (client_credentials and the CIBA poll)
 * and presents them to a node:http resource server guarded by the SDK's middleware.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import { createAgentClient, createCapabilityVerifier, withCapability, type AgentClient } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'

const ORIGIN = 'https://ci.example.com'

describe('the SDK agent client with DPoP', () => {
  let t: TestApp
  let bot: TestAgent
  let rs: Server
  let rsUrl: string
  beforeEach(async () => {
    t = await createTestApp()
    bot = await t.register(exampleDocument('deploy-bot'))
    const jwks = await (await t.app.publicApp.request('/.well-known/jwks.json')).json() as { keys: [] }
    const verifier = createCapabilityVerifier({ issuer: ISSUER, audience: 'urn:writ:resource-server', jwks, now: () => t.clock.nowSeconds() })
    rs = createServer(withCapability({ verifier, origin: ORIGIN, expected: () => ({ action: 'tests.run', resource: 'repo:acme/billing' }) },
      (_req, res, capability) => void res.writeHead(200).end(capability.claims.cnf?.jkt ?? 'unbound')))
    await new Promise<void>((resolve) => rs.listen(0, '127.0.0.1', resolve))
    rsUrl = `http://127.0.0.1:${(rs.address() as AddressInfo).port}`
  })
  afterEach(async () => {
    rs.close()
    await t.close()
  })

  const client = (dpop: Parameters<typeof createAgentClient>[0]['dpop'], sleep = async (_ms: number) => undefined): AgentClient => createAgentClient({
    issuer: ISSUER, agent: bot.agent.id, privateKey: bot.privateJwk, dpop, now: () => t.clock.nowSeconds(), sleep,
    // The in-process app stands in for the network; the requests are the ones the client would send.
    fetch: (async (url: string, init: RequestInit) => t.app.publicApp.request(url, init)) as typeof fetch,
  })
  const callResourceServer = async (c: AgentClient, grant: Awaited<ReturnType<AgentClient['requestCapability']>>) => {
    // The client signs for the resource server's public origin; the request itself goes to the local port.
    const headers = await c.authorizationHeaders(grant, { method: 'GET', url: `${ORIGIN}/runs` })
    return fetch(`${rsUrl}/runs`, { headers })
  }
  const ask = (c: AgentClient) => c.requestCapability({ action: 'tests.run', resource: 'repo:acme/billing', access: 'read', taskId: 'T-1' })

  it('dpop: true generates an Ed25519 key, and every token is bound to it and usable only with a proof', async () => {
    const c = client(true)
    const key = await c.dpopKey()
    expect(key?.alg).toBe('EdDSA')
    const grant = await ask(c)
    expect(grant.tokenType).toBe('DPoP')
    expect(decodeJwt(grant.accessToken).cnf).toEqual({ jkt: key?.jkt })
    const response = await callResourceServer(c, grant)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(key?.jkt)
    // The token string alone, as Bearer, is refused.
    const stolen = await fetch(`${rsUrl}/runs`, { headers: { authorization: `Bearer ${grant.accessToken}` } })
    expect(stolen.status).toBe(401)
  })

  it('uses a supplied P-256 key, and a client without dpop still gets Bearer tokens the middleware serves', async () => {
    const c = client(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)
    const grant = await ask(c)
    expect(decodeJwt(grant.accessToken).cnf).toEqual({ jkt: (await c.dpopKey())?.jkt })
    expect((await callResourceServer(c, grant)).status).toBe(200)
    const plain = client(undefined)
    const bearer = await ask(plain)
    expect(bearer.tokenType).toBe('Bearer')
    expect(await (await callResourceServer(plain, bearer)).text()).toBe('unbound')
  })

  it('binds the capability a delegation grant is exchanged for, and presents it to the resource server', async () => {
    const mandate = await t.admin('POST', '/v1/grants', {
      human: 'alice@example.com', agent: bot.agent.id, task: { id: 'T-9' },
      authorization_details: [{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/*' }],
    })
    const { grant } = await mandate.json() as { grant: string }
    const c = client(true)
    const capability = await c.exchangeGrant({ grant, action: 'tests.run', resource: 'repo:acme/billing', access: 'read' })
    expect(capability.tokenType).toBe('DPoP')
    expect(decodeJwt(capability.accessToken)).toMatchObject({ sub: 'alice@example.com', cnf: { jkt: (await c.dpopKey())?.jkt } })
    expect((await callResourceServer(c, capability)).status).toBe(200)
  })

  it('binds the token of a held request, redeemed by the CIBA poll, to the same key', async () => {
    const approver = (await (await t.admin('POST', '/v1/admins', { name: 'rm@example.com', roles: ['release-manager'] })).json() as { credential: string }).credential
    let pending: string | undefined
    // A human approves while the client waits out the poll interval (on the test clock).
    const c = client(true, async (ms) => {
      if (pending !== undefined) await t.app.adminApp.request(`/v1/approvals/${pending}/approve`, { method: 'POST', headers: { authorization: `Bearer ${approver}` } })
      pending = undefined
      t.clock.advance(ms)
    })
    const grant = await c.requestCapability({ action: 'deploy.run', resource: 'service:billing', taskId: 'T-2' }, {
      waitForApproval: { timeoutMs: 60_000, onPending: ({ authReqId }) => { pending = authReqId } },
    })
    expect(grant.tokenType).toBe('DPoP')
    expect(decodeJwt(grant.accessToken).cnf).toEqual({ jkt: (await c.dpopKey())?.jkt })
  })
})
