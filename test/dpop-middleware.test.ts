/**
 * The SDK's resource-server middlewares over real HTTP: a `node:http` server wrapped with withCapability and a Hono app
 * (served by @hono/node-server) with capabilityMiddleware, each verifying Bearer and DPoP-bound tokens in one call.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import { serve, type ServerType } from '@hono/node-server'
import {
  capabilityMiddleware, createCapabilityVerifier, createDpopKey, dpopRequestHeaders, signDpopProof, withCapability,
  type CapabilityVerifier, type DpopKey, type VerifiedCapability,
} from '@writ/sdk'
import { AUDIENCE, ISSUER, NOW, capabilityClaims, generateTestKey, signCapability } from '../packages/sdk/src/verify/capability-token.fixture.js'

const writKey = generateTestKey('Ed25519', 'writ-1')
const expected = { action: 'deploy.run', resource: 'service:billing' }
const ORIGIN = 'https://api.example'

let key: DpopKey
let verifier: CapabilityVerifier
let nodeServer: Server
let honoServer: ServerType
const urls: Record<'node' | 'hono', string> = { node: '', hono: '' }

beforeAll(async () => {
  key = await createDpopKey()
  verifier = createCapabilityVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [writKey.publicJwk] }, now: () => NOW })
  nodeServer = createServer(withCapability({ verifier, origin: ORIGIN, expected: () => expected }, (_req, res, capability) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: capability.claims.sub, cnf: capability.claims.cnf ?? null }))
  }))
  await new Promise<void>((resolve) => nodeServer.listen(0, '127.0.0.1', resolve))
  urls.node = `http://127.0.0.1:${(nodeServer.address() as AddressInfo).port}`

  const app = new Hono<{ Variables: { capability: VerifiedCapability } }>()
  app.use('/deploy', capabilityMiddleware({ verifier, origin: ORIGIN, expected: () => expected }))
  app.post('/deploy', (c) => c.json({ sub: c.get('capability').claims.sub, cnf: c.get('capability').claims.cnf ?? null }))
  await new Promise<void>((resolve) => {
    honoServer = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      urls.hono = `http://127.0.0.1:${info.port}`
      resolve()
    })
  })
})
afterAll(async () => {
  nodeServer.close()
  honoServer.close()
})

const boundToken = () => signCapability(writKey, capabilityClaims({ jti: crypto.randomUUID(), cnf: { jkt: key.jkt } }))

describe.each(['node', 'hono'] as const)('the %s middleware', (kind) => {
  const post = (headers: Record<string, string>) => fetch(`${urls[kind]}/deploy?dry=1`, { method: 'POST', headers })

  it('serves a DPoP-bound token with a proof for this request, signed for the public origin', async () => {
    const token = await boundToken()
    const response = await post(await dpopRequestHeaders(key, token, { method: 'POST', url: `${ORIGIN}/deploy`, now: () => NOW }))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ sub: 'agent-7', cnf: { jkt: key.jkt } })
  })

  it('serves an unbound token as Bearer', async () => {
    const response = await post({ authorization: `Bearer ${await signCapability(writKey)}` })
    expect(response.status).toBe(200)
  })

  it('refuses a bound token presented as Bearer with 401 invalid_token', async () => {
    const response = await post({ authorization: `Bearer ${await boundToken()}` })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    expect(await response.json()).toMatchObject({ error: 'invalid_token', reasons: ['dpop_bound_token_as_bearer'] })
  })

  it('refuses a replayed proof and a proof for another URL with a DPoP challenge, never echoing them', async () => {
    const token = await boundToken()
    const headers = await dpopRequestHeaders(key, token, { method: 'POST', url: `${ORIGIN}/deploy`, now: () => NOW })
    expect((await post(headers)).status).toBe(200)
    const replay = await post(headers)
    expect(replay.status).toBe(401)
    expect(replay.headers.get('www-authenticate')).toBe('DPoP error="invalid_dpop_proof", algs="EdDSA ES256"')
    const text = await replay.text()
    expect(JSON.parse(text)).toMatchObject({ error: 'invalid_dpop_proof', reasons: ['dpop_proof_replayed'] })
    expect(text).not.toContain(token.split('.')[2])
    // The Host header the client chose is not the origin the proof must name.
    const elsewhere = await signDpopProof(key, { htm: 'POST', htu: `${urls[kind]}/deploy`, accessToken: token, now: () => NOW })
    const wrongUrl = await post({ authorization: `DPoP ${token}`, dpop: elsewhere })
    expect(await wrongUrl.json()).toMatchObject({ reasons: ['dpop_htu_mismatch'] })
  })

  it('refuses a request without a token with 401', async () => {
    const response = await post({})
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: 'invalid_token', reasons: ['token_missing'] })
  })

  it('answers 403 insufficient_scope for a token of another action', async () => {
    const token = await signCapability(writKey, capabilityClaims({ authorization_details: [{ type: 'writ_action', action: 'db.drop', resource: 'db:x' }] }))
    const response = await post({ authorization: `Bearer ${token}` })
    expect(response.status).toBe(403)
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope"')
  })
})
