/**
 * Interoperability with a standard OAuth client no one here wrote: openid-client discovers Writ by RFC 8414
 * metadata, authenticates with private_key_jwt and obtains a capability token that jose verifies from the JWKS.
 */
import type { webcrypto } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as client from 'openid-client'
import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger, loadConfig, startServer, systemClock, type RunningServer } from '@writ/server'

const ACTION = { type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing' }

interface WebAgent {
  id: string
  privateKey: webcrypto.CryptoKey
  kid: string
}

describe('openid-client 6 against the token endpoint', () => {
  let dataDir: string
  let server: RunningServer

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'writ-interop-'))
    const config = loadConfig({ flags: { dataDir, server: { port: 0, adminPort: 0 }, log: { level: 'warn' } } })
    server = await startServer(config, systemClock, createLogger('warn', systemClock))
  })

  afterAll(async () => {
    await server?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  /** An agent whose key lives in WebCrypto, as openid-client wants it; only the public half is registered. */
  async function registerWebAgent(name: string, algorithm: 'Ed25519' | 'ES256'): Promise<WebAgent> {
    const params = algorithm === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' }
    const pair = await crypto.subtle.generateKey(params, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
    const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey) as JWK
    const publicJwk = JSON.parse(JSON.stringify({ kty, crv, x, y })) as JWK
    const kid = await calculateJwkThumbprint(publicJwk)
    const response = await fetch(`${server.adminUrl}/v1/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.app.bootstrapCredential as string}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name, owner: 'x@example.com', team: 't', platform: 'custom',
        capabilities: [{ id: 'tests.run', risk_level: 'low' }], data_access: [{ resource: 'repo:acme/billing', access_type: 'write', sensitivity: 'internal' }], jwks: { keys: [{ ...publicJwk, kid }] },
      }),
    })
    expect(response.status, await response.clone().text()).toBe(201)
    return { id: (await response.json() as { id: string }).id, privateKey: pair.privateKey, kid }
  }

  /** Discovers Writ as an RFC 8414 server and remembers every client assertion openid-client sends. */
  async function discover(agent: WebAgent, sentAssertions: string[]): Promise<client.Configuration> {
    const recordingFetch: client.CustomFetch = async (url, options) => {
      const body = options.body instanceof URLSearchParams ? options.body : typeof options.body === 'string' ? new URLSearchParams(options.body) : undefined
      const assertion = body?.get('client_assertion')
      if (assertion) sentAssertions.push(assertion)
      return fetch(url, options as RequestInit)
    }
    return client.discovery(
      new URL(server.app.issuer), agent.id, { token_endpoint_auth_method: 'private_key_jwt' },
      client.PrivateKeyJwt({ key: agent.privateKey, kid: agent.kid }),
      { algorithm: 'oauth2', execute: [client.allowInsecureRequests], [client.customFetch]: recordingFetch },
    )
  }

  it.each([
    ['an Ed25519 key, signing with the fully specified alg Ed25519 (RFC 9864)', 'Ed25519', 'Ed25519'],
    ['a P-256 key, signing with ES256', 'ES256', 'ES256'],
  ] as const)('obtains a capability token with private_key_jwt from %s, and jose verifies it from the published JWKS', async (_name, algorithm, expectedAlg) => {
    const agent = await registerWebAgent(`interop-${algorithm.toLowerCase()}`, algorithm)
    const sent: string[] = []
    const config = await discover(agent, sent)
    const metadata = config.serverMetadata()
    expect(metadata).toMatchObject({
      issuer: server.app.issuer, token_endpoint: `${server.app.issuer}/oauth/token`,
      token_endpoint_auth_methods_supported: expect.arrayContaining(['private_key_jwt']),
    })

    // openid-client takes string parameters only (objects would become "[object Object]"), so RAR is JSON-encoded here.
    const response = await client.clientCredentialsGrant(config, { authorization_details: JSON.stringify([ACTION]), task_id: 'T-7' })
    expect(response.token_type).toBe('bearer')
    expect(response.expires_in).toBe(300)
    expect(response.authorization_details).toEqual([ACTION])

    expect(sent).toHaveLength(1)
    expect(decodeProtectedHeader(sent[0] as string)).toMatchObject({ alg: expectedAlg, kid: agent.kid })

    const { payload, protectedHeader } = await jwtVerify(response.access_token, createRemoteJWKSet(new URL(metadata.jwks_uri as string)), {
      issuer: server.app.issuer, audience: 'urn:writ:resource-server', typ: 'at+jwt',
    })
    expect(protectedHeader.alg).toBe('EdDSA')
    expect(payload).toMatchObject({ sub: agent.id, client_id: agent.id, authorization_details: [ACTION], task: { id: 'T-7' } })
    expect(await server.app.storage.tokens.findIssued(payload.jti as string)).toMatchObject({ agent_id: agent.id, task_id: 'T-7' })
  })

  it('hands openid-client the OAuth error for an action the agent never declared', async () => {
    const agent = await registerWebAgent('interop-denied', 'Ed25519')
    const config = await discover(agent, [])
    const denied = { ...ACTION, action: 'db.drop' }
    const error = await client.clientCredentialsGrant(config, { authorization_details: JSON.stringify([denied]), task_id: 'T-8' })
      .then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(client.ResponseBodyError)
    expect(error).toMatchObject({ status: 403, error: 'access_denied' })
  })

  it('refuses a second use of the assertion openid-client signed', async () => {
    const agent = await registerWebAgent('interop-replay', 'Ed25519')
    const sent: string[] = []
    const config = await discover(agent, sent)
    await client.clientCredentialsGrant(config, { authorization_details: JSON.stringify([ACTION]), task_id: 'T-9' })
    const replay = await fetch(`${server.app.issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials', client_id: agent.id,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: sent[0] as string,
        authorization_details: JSON.stringify([ACTION]), task_id: 'T-9',
      }),
    })
    expect(replay.status).toBe(401)
    expect(await replay.json()).toMatchObject({ error: 'invalid_client', writ_code: 'CLIENT_ASSERTION_REPLAYED' })
  })

  it('performs RFC 8693 token exchanges as a standard client: a mandate narrowed for a sub-agent, then a capability', async () => {
    const a = await registerWebAgent('interop-delegator', 'Ed25519')
    const b = await registerWebAgent('interop-delegate', 'ES256')
    const created = await fetch(`${server.adminUrl}/v1/grants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.app.bootstrapCredential as string}`, 'content-type': 'application/json' },
      body: JSON.stringify({ human: 'alice@example.com', agent: a.id, authorization_details: [{ ...ACTION, resource: 'repo:acme/*' }], task: { id: 'T-11' } }),
    })
    expect(created.status).toBe(201)
    const { grant } = await created.json() as { grant: string }

    const delegated = await client.genericGrantRequest(await discover(a, []), 'urn:ietf:params:oauth:grant-type:token-exchange', {
      subject_token: grant, subject_token_type: 'urn:writ:params:oauth:token-type:grant',
      requested_token_type: 'urn:writ:params:oauth:token-type:grant', audience: b.id, authorization_details: JSON.stringify([ACTION]),
    })
    expect(delegated).toMatchObject({ issued_token_type: 'urn:writ:params:oauth:token-type:grant', authorization_details: [ACTION] })

    const capability = await client.genericGrantRequest(await discover(b, []), 'urn:ietf:params:oauth:grant-type:token-exchange', {
      subject_token: delegated.access_token, subject_token_type: 'urn:writ:params:oauth:token-type:grant',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token', authorization_details: JSON.stringify([ACTION]),
    })
    expect(capability).toMatchObject({ token_type: 'bearer', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' })
    const { payload } = await jwtVerify(capability.access_token, createRemoteJWKSet(new URL(`${server.app.issuer}/.well-known/jwks.json`)), {
      issuer: server.app.issuer, audience: 'urn:writ:resource-server', typ: 'at+jwt',
    })
    expect(payload).toMatchObject({ sub: 'alice@example.com', client_id: b.id, act: { sub: b.id, act: { sub: a.id } }, task: { id: 'T-11' } })
  })
})
