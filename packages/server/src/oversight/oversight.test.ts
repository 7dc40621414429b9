/** Human oversight end to end: hold, CIBA poll, approve/deny/expire, single use, binding, roles, webhook, flood. */
import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GRANT_TYPES } from '@writ/sdk'
import { createTestApp, exampleDocument, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { openStorage } from '../storage/open-storage.js'
import type { Storage } from '../storage/storage.js'
import type { ConfigInput } from '../config/schema.js'
import { verifyChain } from '../audit/verify-chain.js'
import { enrollTestHost } from '../hosts/host-test.fixture.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../storage/test-database.fixture.js'

type Engine = { name: string; open: () => Promise<{ storage: Storage; dispose(): Promise<void> }> }
const engines: Engine[] = [{ name: 'sqlite', open: async () => { const storage = await openStorage({ driver: 'sqlite', sqlitePath: ':memory:' }); return { storage, dispose: async () => undefined } } }]
if (TEST_DATABASE_URL) {
  engines.push({ name: 'postgres', open: async () => {
    const database = await createTestDatabase()
    const storage = await openStorage({ driver: 'postgres', url: database.url })
    return { storage, dispose: () => database.drop() }
  } })
} else describePostgres()

describe.each(engines)('human oversight on $name', (engine) => {
  let t: TestApp
  let bot: TestAgent
  let dispose: () => Promise<void>
  let releaseManager: string

  const start = async (config: ConfigInput = {}) => {
    const opened = await engine.open()
    dispose = opened.dispose
    t = await createTestApp({ storage: opened.storage, config })
    bot = await t.register(exampleDocument('deploy-bot'))
    releaseManager = (await (await t.admin('POST', '/v1/admins', { name: 'rm@example.com', roles: ['release-manager'] })).json() as { credential: string }).credential
  }
  beforeEach(async () => start())
  afterEach(async () => { await t.close(); await dispose() })

  const as = (credential: string, method: string, path: string, body?: unknown) => Promise.resolve(t.app.adminApp.request(path, {
    method, headers: { authorization: `Bearer ${credential}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
  }))
  const hold = async (agent = bot, action = 'deploy.run', resource = 'service:billing', extra: Record<string, string> = {}) => {
    const response = await t.requestCapability(agent, action, resource, extra)
    expect(response.status).toBe(400)
    const body = await response.json() as { error: string; auth_req_id: string; expires_in: number; interval: number }
    expect(body.error).toBe('authorization_pending')
    return body
  }
  const poll = async (authReqId: string, agent = bot, extra: Record<string, string> = {}) => t.token({
    grant_type: GRANT_TYPES.ciba, client_id: agent.agent.id, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await agent.assertion(), auth_req_id: authReqId, ...extra,
  })
  const error = async (response: Response) => ((await response.json()) as { error: string }).error

  it('holds an action the document marks for a human, and issues exactly one token once approved', async () => {
    const held = await hold()
    expect(held).toMatchObject({ expires_in: 600, interval: 5 })
    // 160 bits in hex: never a leading '-' that a command line would read as an option.
    expect(held.auth_req_id).toMatch(/^[0-9a-f]{40}$/)
    expect(await t.storage.tokens.countIssued()).toBe(0)
    const pending = await (await t.admin('GET', '/v1/approvals?status=pending')).json() as { approvals: Array<Record<string, unknown>> }
    expect(pending.approvals).toMatchObject([{ auth_req_id: held.auth_req_id, action: 'deploy.run', resource: 'service:billing', approvers: ['release-manager'], reasons: ['oversight_required:deploy.run'] }])

    expect(await error(await poll(held.auth_req_id))).toBe('authorization_pending')
    const approved = await as(releaseManager, 'POST', `/v1/approvals/${held.auth_req_id}/approve`, { note: 'release 42' })
    expect(approved.status).toBe(200)
    t.clock.advance(5_000)
    const granted = await poll(held.auth_req_id)
    expect(granted.status).toBe(200)
    const { access_token } = await granted.json() as { access_token: string }
    const claims = JSON.parse(Buffer.from(access_token.split('.')[1] as string, 'base64url').toString()) as { jti: string; authorization_details: unknown }
    expect(claims.authorization_details).toEqual([{ type: 'writ_action', action: 'deploy.run', resource: 'service:billing' }])

    t.clock.advance(5_000)
    const reuse = await poll(held.auth_req_id)
    expect(await error(reuse)).toBe('invalid_grant')
    expect(await t.storage.tokens.countIssued()).toBe(1)

    const records = await t.storage.audit.tail(20)
    const types = records.map((r) => r.type)
    expect(types).toEqual(expect.arrayContaining(['approval.request', 'approval.grant', 'token.issue']))
    const issue = records.find((r) => r.type === 'token.issue')
    expect(issue?.data).toMatchObject({ auth_req_id: held.auth_req_id })
    expect(issue?.token?.jti).toBe(claims.jti)
    const grant = records.find((r) => r.type === 'approval.grant')
    expect(grant?.data).toMatchObject({ auth_req_id: held.auth_req_id, admin_name: 'rm@example.com', note: 'release 42' })
    expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
  })

  it('answers access_denied after a human denies', async () => {
    const held = await hold()
    expect((await as(releaseManager, 'POST', `/v1/approvals/${held.auth_req_id}/deny`)).status).toBe(200)
    expect(await error(await poll(held.auth_req_id))).toBe('access_denied')
    expect((await as(releaseManager, 'POST', `/v1/approvals/${held.auth_req_id}/approve`)).status).toBe(409)
    expect(await t.storage.tokens.countIssued()).toBe(0)
  })

  it('expires an undecided request, and refuses to approve it afterwards', async () => {
    const held = await hold()
    t.clock.advance(601_000)
    expect(await error(await poll(held.auth_req_id))).toBe('expired_token')
    const late = await as(releaseManager, 'POST', `/v1/approvals/${held.auth_req_id}/approve`)
    expect(late.status).toBe(409)
    expect((await (await t.admin('GET', `/v1/approvals/${held.auth_req_id}`)).json() as { status: string }).status).toBe('expired')
  })

  it('answers slow_down to a poll inside the interval, and adds 5 seconds to it', async () => {
    const held = await hold()
    expect(await error(await poll(held.auth_req_id))).toBe('authorization_pending')
    const fast = await poll(held.auth_req_id)
    expect(await fast.json()).toMatchObject({ error: 'slow_down', interval: 10 })
    t.clock.advance(6_000)
    expect(await error(await poll(held.auth_req_id))).toBe('slow_down')
    t.clock.advance(15_000)
    expect(await error(await poll(held.auth_req_id))).toBe('authorization_pending')
  })

  it('refuses an approval for a different request, and another agent\'s auth_req_id', async () => {
    const held = await hold()
    await as(releaseManager, 'POST', `/v1/approvals/${held.auth_req_id}/approve`)
    const other = JSON.stringify([{ type: 'writ_action', action: 'deploy.run', resource: 'service:payments' }])
    expect(await error(await poll(held.auth_req_id, bot, { authorization_details: other }))).toBe('invalid_grant')
    const sre = await t.register(exampleDocument('sre-responder'))
    expect(await error(await poll(held.auth_req_id, sre))).toBe('invalid_grant')
    expect((await poll(held.auth_req_id, bot, { authorization_details: JSON.stringify([{ type: 'writ_action', action: 'deploy.run', resource: 'service:billing' }]) })).status).toBe(200)
  })

  it('lets only a role the document names decide, and never the agent\'s own owner', async () => {
    const held = await hold()
    const byAdmin = await t.admin('POST', `/v1/approvals/${held.auth_req_id}/approve`)
    expect(byAdmin.status).toBe(403)
    expect((await byAdmin.json() as { code: string }).code).toBe('APPROVER_NOT_ALLOWED')
    const owner = (await (await t.admin('POST', '/v1/admins', { name: 'platform-lead@example.com', roles: ['release-manager'] })).json() as { credential: string }).credential
    const byOwner = await as(owner, 'POST', `/v1/approvals/${held.auth_req_id}/approve`)
    expect(byOwner.status).toBe(403)
    expect(await byOwner.json()).toMatchObject({ reasons: ['owner_may_not_approve'] })
  })

  it('holds by risk level: a critical capability waits for the on-call', async () => {
    const sre = await t.register(exampleDocument('sre-responder'))
    await enrollTestHost(t, 'web-1')
    const held = await hold(sre, 'sudo.exec', 'host:web-1', { parameters: '{"runas":"root","argv":["systemctl","restart","nginx"]}' })
    const view = await (await t.admin('GET', `/v1/approvals/${held.auth_req_id}`)).json()
    expect(view).toMatchObject({ approvers: ['sre-oncall'], reasons: ['oversight_required:critical'] })
  })

  it('rate-limits the approval queue of one agent with 429 and Retry-After', async () => {
    await t.close()
    await dispose()
    await start({ oversight: { maxPendingPerAgent: 2 } })
    await hold()
    await hold()
    const flood = await t.requestCapability(bot, 'deploy.run', 'service:billing')
    expect(flood.status).toBe(429)
    expect(flood.headers.get('retry-after')).toBe('5')
    expect((await t.admin('GET', '/v1/approvals?status=pending').then((r) => r.json()) as { approvals: unknown[] }).approvals).toHaveLength(2)
  })
})

describe('approval webhook', () => {
  const deliveries: Array<{ body: string; signature: string }> = []
  let failures = 1
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => { body += chunk.toString() })
    req.on('end', () => {
      deliveries.push({ body, signature: String(req.headers['writ-signature']) })
      res.statusCode = failures-- > 0 ? 500 : 204
      res.end()
    })
  })
  afterAll(() => server.close())

  it('posts a signed notice when a request is held, retrying after a failure', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const secret = 'webhook-secret-of-sufficient-length'
    const t = await createTestApp({ config: { oversight: { webhookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, webhookSecret: secret } } })
    const bot = await t.register(exampleDocument('deploy-bot'))
    const held = await (await t.requestCapability(bot, 'deploy.run', 'service:billing')).json() as { auth_req_id: string }
    const deadline = Date.now() + 5_000
    while (deliveries.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(deliveries).toHaveLength(2)
    const last = deliveries[1] as { body: string; signature: string }
    const [, t1, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(last.signature) ?? []
    expect(createHmac('sha256', secret).update(`${t1}.${last.body}`).digest('hex')).toBe(v1)
    expect(JSON.parse(last.body)).toMatchObject({ type: 'approval.requested', approval: { auth_req_id: held.auth_req_id, status: 'pending' }, agent: { name: 'deploy-bot' } })
    await t.close()
  })
})
