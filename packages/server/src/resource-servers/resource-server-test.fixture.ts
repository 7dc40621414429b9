/** Test support: registers a resource server with a fresh key through the admin API and signs its client assertions. */
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { calculateJwkThumbprint } from 'jose'
import { CLIENT_ASSERTION_TYPE, signClientAssertion } from '@writ/sdk'
import { ISSUER, type TestApp } from '../test-app.fixture.js'
import type { ResourceServer } from './resource-server-document.js'

export interface TestResourceServer {
  server: ResourceServer
  privateJwk: JsonWebKey
  publicJwk: JsonWebKey
  assertion(overrides?: { now?: number }): Promise<string>
  /** The client-authentication form fields of one request (a fresh assertion each time). */
  clientAuth(): Promise<Record<string, string>>
}

export async function newKeyPair(): Promise<{ privateJwk: JsonWebKey; publicJwk: JsonWebKey }> {
  const { privateKey } = generateKeyPairSync('ed25519')
  const privateJwk = privateKey.export({ format: 'jwk' })
  const { d: _d, ...publicJwk } = privateJwk
  const kid = await calculateJwkThumbprint(publicJwk as Parameters<typeof calculateJwkThumbprint>[0])
  return { privateJwk: { ...privateJwk, kid }, publicJwk: { ...publicJwk, kid } }
}

export async function registerResourceServer(t: TestApp, name: string, audience: string): Promise<TestResourceServer> {
  const { privateJwk, publicJwk } = await newKeyPair()
  const response = await t.admin('POST', '/v1/resource-servers', { name, audience, jwks: { keys: [publicJwk] } })
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${await response.text()}`)
  const server = (await response.json()) as ResourceServer
  const assertion = (o: { now?: number } = {}) => signClientAssertion({
    privateKey: privateJwk, agentId: server.id, audience: ISSUER, now: () => o.now ?? t.clock.nowSeconds(),
  })
  return {
    server, privateJwk, publicJwk, assertion,
    clientAuth: async () => ({ client_id: server.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await assertion() }),
  }
}
