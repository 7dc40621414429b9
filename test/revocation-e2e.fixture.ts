/** Test support: a real Writ server on a temporary data directory, its admin, agents, a resource server, tokens. */
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import {
  CLIENT_ASSERTION_TYPE, createCapabilityVerifier, signClientAssertion, subscribeRevocations,
  type CapabilityVerifier, type RevocationSubscriberOptions, type RevocationSubscription,
} from '@writ/sdk'
import { ADMIN_TOKEN_FILE, createLogger, loadConfig, startServer, systemClock, type RunningServer } from '@writ/server'

export const AUDIENCE = 'https://billing.e2e.example'
export const ACTION = { type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing' } as const
export const EXPECTED = { action: ACTION.action, resource: ACTION.resource }

/** Run after each test, last first. */
export const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

export interface Writ {
  server: RunningServer
  dataDir: string
  issuer: string
  stop(): Promise<void>
}

export async function startWrit(options: { dataDir?: string; storage?: Record<string, unknown>; ports?: { port: number; adminPort: number }; issuer?: string } = {}): Promise<Writ> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'writ-revocation-push-'))
  const config = loadConfig({
    env: {},
    flags: {
      dataDir,
      server: { port: options.ports?.port ?? 0, adminPort: options.ports?.adminPort ?? 0, shutdownGraceMs: 1_000 },
      log: { level: 'silent' },
      revocation: { heartbeatSeconds: 1, pollIntervalMs: 500 },
      ...(options.storage ? { storage: options.storage } : {}),
      ...(options.issuer ? { issuer: options.issuer } : {}),
    },
  })
  const server = await startServer(config, systemClock, createLogger('silent', systemClock))
  let stopped = false
  const writ = {
    server, dataDir, issuer: server.app.issuer,
    async stop() {
      if (stopped) return
      stopped = true
      await server.close()
    },
  }
  cleanups.push(() => writ.stop())
  if (options.dataDir === undefined) cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
  return writ
}

/** Everything a resource server needs against one Writ: the admin, an agent, itself registered, token sources. */
export async function setUp(writ: Writ) {
  const adminToken = readFileSync(join(writ.dataDir, ADMIN_TOKEN_FILE), 'utf8').trim()
  const admin = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${writ.server.adminUrl}${path}`, {
      method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    })
    const text = await response.text()
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`)
    return JSON.parse(text) as Record<string, unknown>
  }
  const agents = new Map<string, { id: string; privateJwk: JsonWebKey }>()
  const registerAgent = async (name: string) => {
    const privateJwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })
    const { d: _d, ...publicJwk } = privateJwk
    const agent = await admin('POST', '/v1/agents', {
      name, owner: 'ops@example.com', team: 'ops', platform: 'custom',
      capabilities: [{ id: ACTION.action, risk_level: 'low' }],
      data_access: [{ resource: ACTION.resource, access_type: 'write', sensitivity: 'internal' }],
      jwks: { keys: [{ ...publicJwk, kid: `${name}-1` }] },
    })
    const registered = { id: agent.id as string, privateJwk: { ...privateJwk, kid: `${name}-1` } }
    agents.set(name, registered)
    return registered
  }
  const rsPrivate = { ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'rs-1' }
  const { d: _d, ...rsPublic } = rsPrivate
  const resourceServer = await admin('POST', '/v1/resource-servers', { name: 'billing-api', audience: AUDIENCE, jwks: { keys: [rsPublic] } })
  return { admin, registerAgent, agents, resourceServer: { id: resourceServer.id as string, privateJwk: rsPrivate as JsonWebKey } }
}

/** Writ's API token for the stream (client_credentials, private_key_jwt, scope writ:revocations) from another origin than the issuer (a replica). */
export function apiTokens(issuer: string, tokenOrigin: string, rs: { id: string; privateJwk: JsonWebKey }): (request: { scope: 'writ:revocations'; refresh: boolean }) => Promise<string> {
  return async ({ scope }) => {
    const response = await fetch(`${tokenOrigin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials', scope, client_id: rs.id, client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await signClientAssertion({ privateKey: rs.privateJwk, agentId: rs.id, audience: issuer }),
      }),
    })
    const body = (await response.json()) as { access_token?: string }
    if (response.status !== 200 || body.access_token === undefined) throw new Error(`api token: ${response.status} ${JSON.stringify(body)}`)
    return body.access_token
  }
}

export async function mint(writ: Writ, agent: { id: string; privateJwk: JsonWebKey }, taskId = 'T-1'): Promise<{ token: string; jti: string }> {
  const response = await fetch(`${writ.server.publicUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials', client_id: agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await signClientAssertion({ privateKey: agent.privateJwk, agentId: agent.id, audience: writ.issuer }),
      authorization_details: JSON.stringify([ACTION]), resource: AUDIENCE, task_id: taskId,
    }),
  })
  const body = (await response.json()) as { access_token: string }
  if (response.status !== 200) throw new Error(`mint: ${response.status} ${JSON.stringify(body)}`)
  return { token: body.access_token, jti: jtiOf(body.access_token) }
}

export function jtiOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string }).jti
}

/** Polls until `condition` holds (no fixed sleeps: CI is slow and shared). */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export function subscribedVerifier(issuer: string, jwksOrigin: string, options: Omit<RevocationSubscriberOptions, 'issuer'>): { verifier: CapabilityVerifier; subscription: RevocationSubscription } {
  const subscription = subscribeRevocations({ issuer, staleAfterSeconds: 3, backoff: { initialMs: 50, maxMs: 500 }, ...options })
  cleanups.push(() => subscription.close())
  const verifier = createCapabilityVerifier({ issuer, audience: AUDIENCE, jwks: `${jwksOrigin}/.well-known/jwks.json`, isRevoked: subscription.isRevoked })
  return { verifier, subscription }
}

export async function outcome(verifier: CapabilityVerifier, token: string): Promise<string> {
  return verifier.verify(token, EXPECTED).then(() => 'accepted', (error: { code?: string }) => error.code ?? String(error))
}

/** Polls until the verifier's answer for `token` is `expected` (no fixed sleeps). */
export async function until(verifier: CapabilityVerifier, token: string, expected: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = await outcome(verifier, token)
  while (last !== expected) {
    if (Date.now() > deadline) throw new Error(`still ${last}, expected ${expected}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
    last = await outcome(verifier, token)
  }
}
