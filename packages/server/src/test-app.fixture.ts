/** Test support: the whole app in process on SQLite :memory:, a fake clock, in-memory keys, and an agent factory. */
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { calculateJwkThumbprint } from 'jose'
import { signClientAssertion } from '@writ/sdk'
import { buildApp, type App, type AppOptions } from './app.js'
import { fixedClock } from './clock.js'
import { loadConfig } from './config/load.js'
import type { ConfigInput } from './config/schema.js'
import { createLogger } from './logger.js'
import { openStorage } from './storage/open-storage.js'
import type { Storage } from './storage/storage.js'
import type { Agent } from './agents/agent-document.js'

export const ISSUER = 'http://writ.test'
export const EXAMPLES_DIR = new URL('../../../examples/agents/', import.meta.url)
export const START_MS = Date.UTC(2026, 10, 24, 12, 0, 0)

export function exampleDocument(name: 'deploy-bot' | 'sre-responder' | 'support-assistant'): Record<string, unknown> {
  return parseYaml(readFileSync(new URL(`${name}.yaml`, EXAMPLES_DIR), 'utf8')) as Record<string, unknown>
}

export interface TestAgent {
  agent: Agent
  privateJwk: JsonWebKey
  assertion(overrides?: { now?: number; lifetimeSeconds?: number }): Promise<string>
}

export interface TestApp {
  app: App
  clock: ReturnType<typeof fixedClock>
  storage: Storage
  adminToken: string
  admin(method: string, path: string, body?: unknown): Promise<Response>
  register(document: Record<string, unknown>, algorithm?: 'ed25519' | 'p256'): Promise<TestAgent>
  token(fields: Record<string, string>): Promise<Response>
  /** `extra.access` becomes the RFC 9396 `actions` member (read, write or delete), `extra.parameters` (JSON) the parameters; other members are form fields. */
  requestCapability(agent: TestAgent, action: string, resource: string, extra?: Record<string, string>): Promise<Response>
  close(): Promise<void>
}

export async function createTestApp(options: {
  config?: ConfigInput; storage?: Storage; remoteAddress?: AppOptions['remoteAddress']; humanTokens?: AppOptions['humanTokens']
  authorizeStream?: AppOptions['authorizeStream']
  sshHosts?: AppOptions['sshHosts']
  /** The fake clock's start; a real outside issuer (oidc-provider) stamps its tokens with the real time. */
  startMs?: number
} = {}): Promise<TestApp> {
  const clock = fixedClock(options.startMs ?? START_MS)
  const config = loadConfig({ flags: (options.config ?? {}) as Record<string, unknown> })
  const storage = options.storage ?? await openStorage({ driver: 'sqlite', sqlitePath: ':memory:' })
  const app = await buildApp({ config, clock, logger: createLogger('silent', clock), issuer: ISSUER, ephemeral: true, storage, ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}), ...(options.humanTokens ? { humanTokens: options.humanTokens } : {}), ...(options.authorizeStream ? { authorizeStream: options.authorizeStream } : {}), ...(options.sshHosts ? { sshHosts: options.sshHosts } : {}) })
  const adminToken = app.bootstrapCredential as string

  const admin = (method: string, path: string, body?: unknown) => Promise.resolve(app.adminApp.request(path, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }))
  const token = (fields: Record<string, string>) => Promise.resolve(app.publicApp.request('/oauth/token', {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(),
  }))

  return {
    app, clock, storage, adminToken, admin, token,
    async register(document, algorithm = 'ed25519') {
      const { privateKey } = algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const privateJwk = privateKey.export({ format: 'jwk' })
      const { d: _d, ...publicJwk } = privateJwk
      const kid = await calculateJwkThumbprint(publicJwk as Parameters<typeof calculateJwkThumbprint>[0])
      privateJwk.kid = kid
      const response = await admin('POST', '/v1/agents', { ...document, jwks: { keys: [{ ...publicJwk, kid }] } })
      if (response.status !== 201) throw new Error(`register failed: ${response.status} ${await response.text()}`)
      const agent = (await response.json()) as Agent
      return {
        agent, privateJwk,
        assertion: (o = {}) => signClientAssertion({
          privateKey: privateJwk, agentId: agent.id, audience: ISSUER,
          now: () => o.now ?? clock.nowSeconds(), ...(o.lifetimeSeconds ? { lifetimeSeconds: o.lifetimeSeconds } : {}),
        }),
      }
    },
    async requestCapability(agent, action, resource, extra = {}) {
      // `extra.parameters` (JSON text) becomes the action's parameters (sudo.exec's {runas, argv}).
      const { access, parameters, ...fields } = extra
      return token({
        grant_type: 'client_credentials',
        client_id: agent.agent.id,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await agent.assertion(),
        authorization_details: JSON.stringify([{ type: 'writ_action', action, resource, ...(access ? { actions: [access] } : {}), ...(parameters ? { parameters: JSON.parse(parameters) } : {}) }]),
        task_id: 'T-42',
        ...fields,
      })
    },
    close: () => app.close(),
  }
}
