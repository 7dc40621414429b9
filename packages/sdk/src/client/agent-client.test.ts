import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto'
import { decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { WritError } from '../errors/writ-error.js'
import { createAgentClient } from './agent-client.js'
import { signClientAssertion } from './client-assertion.js'

interface Seen { method: string; path: string; contentType: string | undefined; form: URLSearchParams }

let server: Server
let issuer: string
let seen: Seen[] = []
let answer: (form: URLSearchParams) => { status: number; body: unknown } = () => ({ status: 200, body: {} })
let metadataIssuer: () => string = () => issuer

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = ''
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve(body))
  })
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const form = new URLSearchParams(await readBody(request))
    seen.push({ method: request.method ?? '', path: request.url ?? '', contentType: request.headers['content-type'], form })
    const { status, body } = request.url === '/.well-known/oauth-authorization-server'
      ? { status: 200, body: { issuer: metadataIssuer(), token_endpoint: `${issuer}/oauth/token`, jwks_uri: `${issuer}/jwks` } }
      : answer(form)
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

beforeEach(() => {
  seen = []
  metadataIssuer = () => issuer
  answer = (form) => ({
    status: 200,
    body: { access_token: 'cap.token.here', token_type: 'Bearer', expires_in: 300, authorization_details: JSON.parse(form.get('authorization_details') ?? '[]') },
  })
})

function agentKey(type: 'ed25519' | 'ec'): { privateJwk: JsonWebKey; publicKey: KeyObject } {
  const pair = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { privateJwk: { ...pair.privateKey.export({ format: 'jwk' }), kid: `agent-key-${type}` }, publicKey: pair.publicKey }
}

describe('createAgentClient', () => {
  it('requests a capability with a signed client assertion and the Writ form fields', async () => {
    const { privateJwk, publicKey } = agentKey('ed25519')
    const client = createAgentClient({ issuer, agentId: 'agent-7', privateKey: privateJwk, now: () => Math.floor(Date.now() / 1000) })
    const grant = await client.requestCapability({
      action: 'deploy.run', resource: 'service:billing', parameters: { ref: 'v1' }, taskId: 'T-42', stepId: '3',
      taskPurpose: 'ship the fix', audience: 'https://api.example',
    })
    expect(grant).toEqual({
      accessToken: 'cap.token.here', tokenType: 'Bearer', expiresIn: 300,
      authorizationDetails: [{ type: 'writ_action', action: 'deploy.run', resource: 'service:billing', parameters: { ref: 'v1' } }],
    })
    const request = seen.find((s) => s.path === '/oauth/token')!
    expect(request.method).toBe('POST')
    expect(request.contentType).toBe('application/x-www-form-urlencoded')
    const form = Object.fromEntries(request.form)
    expect(form).toMatchObject({
      grant_type: 'client_credentials', client_id: 'agent-7', task_id: 'T-42', step_id: '3', task_purpose: 'ship the fix',
      resource: 'https://api.example', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    })
    expect(JSON.parse(form.authorization_details!)).toEqual(grant.authorizationDetails)

    const assertion = form.client_assertion!
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: 'agent-key-ed25519' })
    const { payload } = await jwtVerify(assertion, publicKey, { issuer: 'agent-7', subject: 'agent-7', audience: issuer })
    expect(payload.exp! - payload.iat!).toBe(60)
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('omits the optional fields it was not given', async () => {
    const client = createAgentClient({ issuer, agentId: 'agent-7', privateKey: agentKey('ed25519').privateJwk })
    await client.requestCapability({ action: 'db.read', resource: 'db:orders', taskId: 'T-1' })
    const form = seen.find((s) => s.path === '/oauth/token')!.form
    for (const name of ['step_id', 'task_purpose', 'resource']) expect(form.has(name)).toBe(false)
    expect(JSON.parse(form.get('authorization_details')!)).toEqual([{ type: 'writ_action', action: 'db.read', resource: 'db:orders' }])
  })

  it('reads the metadata once and signs a fresh assertion for every request', async () => {
    const client = createAgentClient({ issuer, agentId: 'agent-7', privateKey: agentKey('ec').privateJwk })
    await client.requestCapability({ action: 'a', resource: 'r', taskId: 'T' })
    await client.requestCapability({ action: 'a', resource: 'r', taskId: 'T' })
    expect(seen.filter((s) => s.path === '/.well-known/oauth-authorization-server')).toHaveLength(1)
    const assertions = seen.filter((s) => s.path === '/oauth/token').map((s) => s.form.get('client_assertion')!)
    expect(new Set(assertions).size).toBe(2)
    expect(decodeProtectedHeader(assertions[0]!).alg).toBe('ES256')
  })

  it('turns an OAuth error answer into the matching WritError', async () => {
    answer = () => ({ status: 403, body: { error: 'access_denied', error_description: 'policy `deploy-freeze` denied the request', writ_code: 'POLICY_DENIED', reasons: ['deploy-freeze'] } })
    const client = createAgentClient({ issuer, agentId: 'agent-7', privateKey: agentKey('ed25519').privateJwk })
    const error = await client.requestCapability({ action: 'a', resource: 'r', taskId: 'T' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WritError)
    expect(error).toMatchObject({ code: 'POLICY_DENIED', status: 403, reasons: ['deploy-freeze'], detail: 'policy `deploy-freeze` denied the request' })
  })

  it('refuses metadata that names another issuer and sends no assertion', async () => {
    metadataIssuer = () => 'https://evil.example'
    const client = createAgentClient({ issuer, agentId: 'agent-7', privateKey: agentKey('ed25519').privateJwk })
    await expect(client.requestCapability({ action: 'a', resource: 'r', taskId: 'T' })).rejects.toMatchObject({ reasons: ['issuer_mismatch'] })
    expect(seen.some((s) => s.path === '/oauth/token')).toBe(false)
  })

  it('reports an unreachable issuer as SERVER_UNAVAILABLE and a malformed answer as INTERNAL', async () => {
    const offline = createAgentClient({ issuer: 'http://127.0.0.1:9', agentId: 'agent-7', privateKey: agentKey('ed25519').privateJwk })
    await expect(offline.requestCapability({ action: 'a', resource: 'r', taskId: 'T' })).rejects.toMatchObject({ code: 'SERVER_UNAVAILABLE' })
    answer = () => ({ status: 200, body: { token_type: 'Bearer' } })
    const client = createAgentClient({ issuer, agentId: 'agent-7', privateKey: agentKey('ed25519').privateJwk })
    await expect(client.requestCapability({ action: 'a', resource: 'r', taskId: 'T' })).rejects.toMatchObject({ code: 'INTERNAL' })
  })

  it('names the agent by name in client_id, iss and sub when given agent: <name>', async () => {
    const { privateJwk, publicKey } = agentKey('ed25519')
    const client = createAgentClient({ issuer, agent: 'deploy-bot', privateKey: privateJwk })
    await client.requestCapability({ action: 'deploy.run', resource: 'service:billing', taskId: 'T-1' })
    const form = Object.fromEntries(seen.find((s) => s.path === '/oauth/token')!.form)
    expect(form.client_id).toBe('deploy-bot')
    await expect(jwtVerify(form.client_assertion!, publicKey, { issuer: 'deploy-bot', subject: 'deploy-bot', audience: issuer })).resolves.toBeDefined()
  })

  it('refuses a malformed configuration with a TypeError', async () => {
    expect(() => createAgentClient({ issuer: 'writ.example', agentId: 'a', privateKey: agentKey('ed25519').privateJwk })).toThrow(TypeError)
    expect(() => createAgentClient({ issuer, agentId: '', privateKey: agentKey('ed25519').privateJwk })).toThrow(TypeError)
    expect(() => createAgentClient({ issuer, privateKey: agentKey('ed25519').privateJwk })).toThrow(TypeError)
    expect(() => createAgentClient({ issuer, agent: 'deploy-bot', agentId: 'a', privateKey: agentKey('ed25519').privateJwk })).toThrow(TypeError)
    const publicOnly = createAgentClient({ issuer, agentId: 'a', privateKey: { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' } })
    await expect(publicOnly.requestCapability({ action: 'a', resource: 'r', taskId: 'T' })).rejects.toThrow(TypeError)
  })
})

describe('waiting for a human approval (CIBA poll mode)', () => {
  const AUTH_REQ_ID = 'hold_0123456789abcdef'
  const held = { status: 400, body: { error: 'authorization_pending', error_description: 'the request waits for a human approval', writ_code: 'APPROVAL_PENDING', auth_req_id: AUTH_REQ_ID, expires_in: 600, interval: 5, reasons: ['oversight_required:deploy.run'] } }
  const request = { action: 'deploy.run', resource: 'service:billing', taskId: 'T-9' }
  const granted = { status: 200, body: { access_token: 'approved.token.here', token_type: 'Bearer', expires_in: 300, authorization_details: [{ type: 'writ_action', action: 'deploy.run', resource: 'service:billing' }] } }

  /** The first request is held; each poll gets the next scripted answer. */
  function script(...polls: { status: number; body: unknown }[]) {
    answer = (form) => (form.get('grant_type') === 'client_credentials' ? held : polls.shift() ?? held)
  }
  function client() {
    const sleeps: number[] = []
    const agent = createAgentClient({ issuer, agentId: 'agent-7', privateKey: agentKey('ed25519').privateJwk, sleep: async (ms) => { sleeps.push(ms) } })
    return { agent, sleeps }
  }
  const polls = () => seen.filter((s) => s.path === '/oauth/token' && s.form.get('grant_type') === 'urn:openid:params:grant-type:ciba').map((s) => s.form)

  it('without waitForApproval a held request throws APPROVAL_PENDING with the CIBA members', async () => {
    script()
    const error = await client().agent.requestCapability(request).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WritError)
    expect(error).toMatchObject({ code: 'APPROVAL_PENDING', reasons: ['oversight_required:deploy.run'], extra: { auth_req_id: AUTH_REQ_ID, expires_in: 600, interval: 5 } })
    expect(polls()).toHaveLength(0)
  })

  it('polls at the interval, adds 5 s after slow_down, and returns the token once approved', async () => {
    script(
      { status: 400, body: { ...held.body, interval: 5 } },
      { status: 400, body: { error: 'slow_down', error_description: 'poll at most every 10 s', writ_code: 'APPROVAL_SLOW_DOWN', interval: 10 } },
      { status: 400, body: { error: 'slow_down' } },
      granted,
    )
    const { agent, sleeps } = client()
    const pending: unknown[] = []
    const grant = await agent.requestCapability(request, { waitForApproval: { timeoutMs: 120_000, onPending: (info) => pending.push(info) } })
    expect(grant).toMatchObject({ accessToken: 'approved.token.here', expiresIn: 300 })
    expect(pending).toEqual([{ authReqId: AUTH_REQ_ID, expiresIn: 600, interval: 5 }])
    expect(sleeps).toEqual([5_000, 5_000, 10_000, 15_000])
    const forms = polls()
    expect(forms).toHaveLength(4)
    for (const form of forms) {
      expect(Object.fromEntries(form)).toMatchObject({ auth_req_id: AUTH_REQ_ID, client_id: 'agent-7', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' })
      // The poll names the request it waits for, so an approval for another request cannot be redeemed by it.
      expect(JSON.parse(form.get('authorization_details')!)).toEqual([{ type: 'writ_action', action: 'deploy.run', resource: 'service:billing' }])
    }
    expect(new Set(forms.map((form) => form.get('client_assertion'))).size).toBe(4)
  })

  it('stops with APPROVAL_DENIED when a human denies', async () => {
    script({ status: 400, body: { error: 'access_denied', error_description: 'a human denied the request', writ_code: 'APPROVAL_DENIED', reasons: ['approval_denied'] } })
    const { agent, sleeps } = client()
    await expect(agent.requestCapability(request, { waitForApproval: { timeoutMs: 60_000 } }))
      .rejects.toMatchObject({ code: 'APPROVAL_DENIED', reasons: ['approval_denied'] })
    expect(sleeps).toEqual([5_000])
  })

  it('stops with APPROVAL_EXPIRED when the held request expires, and with APPROVAL_NOT_FOUND on invalid_grant', async () => {
    script({ status: 400, body: { error: 'authorization_pending', writ_code: 'APPROVAL_PENDING', auth_req_id: AUTH_REQ_ID, interval: 5 } }, { status: 400, body: { error: 'expired_token', writ_code: 'APPROVAL_EXPIRED' } })
    await expect(client().agent.requestCapability(request, { waitForApproval: { timeoutMs: 60_000 } })).rejects.toMatchObject({ code: 'APPROVAL_EXPIRED' })
    script({ status: 400, body: { error: 'invalid_grant' } })
    await expect(client().agent.requestCapability(request, { waitForApproval: { timeoutMs: 60_000 } })).rejects.toMatchObject({ code: 'APPROVAL_NOT_FOUND' })
  })

  it('gives up at timeoutMs with APPROVAL_PENDING saying the wait timed out, and never polls early', async () => {
    script()
    const { agent, sleeps } = client()
    const error = await agent.requestCapability(request, { waitForApproval: { timeoutMs: 12_000 } }).catch((e: unknown) => e) as WritError
    expect(error).toBeInstanceOf(WritError)
    expect(error.code).toBe('APPROVAL_PENDING')
    expect(error.detail).toMatch(/^the wait for approval timed out after 10 s; `hold_0123456789abcdef` is still pending$/)
    expect(error.reasons).toEqual(['approval_wait_timeout', 'oversight_required:deploy.run'])
    expect(error.extra).toMatchObject({ auth_req_id: AUTH_REQ_ID, expires_in: 590, interval: 5 })
    expect(sleeps).toEqual([5_000, 5_000])
    expect(polls()).toHaveLength(2)
  })

  it('keeps polling through a network failure', async () => {
    let failed = false
    const agent = createAgentClient({
      issuer, agentId: 'agent-7', privateKey: agentKey('ed25519').privateJwk, sleep: async () => undefined,
      fetch: async (input, init) => {
        if (!failed && String(init?.body ?? '').includes('grant-type%3Aciba')) {
          failed = true
          throw new TypeError('fetch failed')
        }
        return fetch(input, init)
      },
    })
    script(granted)
    await expect(agent.requestCapability(request, { waitForApproval: { timeoutMs: 60_000 } })).resolves.toMatchObject({ accessToken: 'approved.token.here' })
    expect(failed).toBe(true)
  })

  it('pollApproval polls once with the CIBA grant', async () => {
    script({ status: 400, body: { error: 'authorization_pending', writ_code: 'APPROVAL_PENDING', auth_req_id: AUTH_REQ_ID, expires_in: 300, interval: 5 } }, granted)
    const { agent } = client()
    await expect(agent.pollApproval(AUTH_REQ_ID)).rejects.toMatchObject({ code: 'APPROVAL_PENDING', extra: { auth_req_id: AUTH_REQ_ID } })
    await expect(agent.pollApproval(AUTH_REQ_ID)).resolves.toMatchObject({ accessToken: 'approved.token.here' })
    const forms = polls()
    expect(forms.map((form) => form.has('authorization_details'))).toEqual([false, false])
    expect(forms.every((form) => form.get('auth_req_id') === AUTH_REQ_ID)).toBe(true)
  })

  it('refuses a malformed timeout with a TypeError before sending anything', async () => {
    const { agent } = client()
    await expect(agent.requestCapability(request, { waitForApproval: { timeoutMs: Number.NaN } })).rejects.toThrow(TypeError)
    expect(seen.some((s) => s.path === '/oauth/token')).toBe(false)
  })
})

describe('signClientAssertion', () => {
  it('signs iss = sub = agent id, aud = issuer, a unique jti and the requested lifetime', async () => {
    const { privateJwk, publicKey } = agentKey('ed25519')
    const options = { privateKey: privateJwk, agentId: 'agent-9', audience: 'https://writ.example', now: () => 1_750_000_000, lifetimeSeconds: 120 }
    const [first, second] = [await signClientAssertion(options), await signClientAssertion(options)]
    const { payload } = await jwtVerify(first, publicKey, { currentDate: new Date(1_750_000_000_000) })
    expect(payload).toMatchObject({ iss: 'agent-9', sub: 'agent-9', aud: 'https://writ.example', iat: 1_750_000_000, exp: 1_750_000_120 })
    expect(first).not.toBe(second)
  })

  it('refuses a lifetime beyond the profile cap', async () => {
    const options = { privateKey: agentKey('ed25519').privateJwk, agentId: 'a', audience: 'https://writ.example', lifetimeSeconds: 301 }
    await expect(signClientAssertion(options)).rejects.toThrow(TypeError)
  })
})
