import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPairSync } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createAgentClient, signClientAssertion, WritError } from '@writ/sdk'
import type { AuditRecord } from '../audit/audit-record.js'
import { verifyChain } from '../audit/verify-chain.js'
import type { ConfigInput } from '../config/schema.js'
import { openStorage } from '../storage/open-storage.js'
import type { Storage } from '../storage/storage.js'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const ONLY_PER_AGENT = (ratePerSecond: number, burst: number): ConfigInput =>
  ({ rateLimits: { perAgent: { ratePerSecond, burst }, perAddress: { enabled: false } } })
const ONLY_PER_ADDRESS = (ratePerSecond: number, burst: number): ConfigInput =>
  ({ rateLimits: { perAddress: { ratePerSecond, burst }, perAgent: { enabled: false } } })

describe('token endpoint rate limits', () => {
  let t: TestApp
  const opened: TestApp[] = []
  const start = async (options: Parameters<typeof createTestApp>[0]) => {
    t = await createTestApp(options)
    opened.push(t)
    return t
  }
  afterEach(async () => {
    for (const app of opened.splice(0)) await app.close()
  })

  const capability = (agent: TestAgent) => t.requestCapability(agent, 'tests.run', 'repo:acme/billing', { access: 'read' })
  // The peer address comes from a header only in these tests (the real server uses the TCP peer, see below).
  const fromPeer = (peer: string, body = 'grant_type=client_credentials') =>
    Promise.resolve(t.app.publicApp.request('/oauth/token', { method: 'POST', headers: { ...FORM, 'x-test-peer': peer }, body }))

  it('answers a burst beyond the agent bucket with 429, Retry-After and RATE_LIMITED, and serves it again after the refill', async () => {
    await start({ config: ONLY_PER_AGENT(1, 3) })
    const bot = await t.register(exampleDocument('deploy-bot'))
    for (let i = 0; i < 3; i++) expect((await capability(bot)).status).toBe(200)
    const refused = await capability(bot)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(await refused.json()).toMatchObject({ error: 'slow_down', writ_code: 'RATE_LIMITED', reasons: ['agent_rate_limited'], retry_after: 1 })
    t.clock.advance(999)
    expect((await capability(bot)).status).toBe(429)
    t.clock.advance(1)
    expect((await capability(bot)).status).toBe(200)
    expect((await capability(bot)).status).toBe(429)
    expect(await t.storage.tokens.countIssued()).toBe(4)
  })

  it('rounds Retry-After up to whole seconds', async () => {
    await start({ config: ONLY_PER_AGENT(0.1, 1) })
    const bot = await t.register(exampleDocument('deploy-bot'))
    expect((await capability(bot)).status).toBe(200)
    t.clock.advance(500)
    const refused = await capability(bot)
    expect(refused.headers.get('retry-after')).toBe('10')
    t.clock.advance(8_600)
    expect((await capability(bot)).headers.get('retry-after')).toBe('1')
  })

  it('keeps one bucket per agent: a busy agent does not slow another', async () => {
    await start({ config: ONLY_PER_AGENT(1, 2) })
    const bot = await t.register(exampleDocument('deploy-bot'))
    const other = await t.register(exampleDocument('sre-responder'))
    for (let i = 0; i < 2; i++) await capability(bot)
    expect((await capability(bot)).status).toBe(429)
    expect((await t.requestCapability(other, 'alerts.read', 'host:web-1')).status).toBe(200)
  })

  it('spends neither the assertion nor an audit record on a refusal: the same assertion works after the refill', async () => {
    await start({ config: ONLY_PER_AGENT(1, 1) })
    const bot = await t.register(exampleDocument('deploy-bot'))
    expect((await capability(bot)).status).toBe(200)
    const before = (await t.storage.audit.head()).seq
    const fields = {
      grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await bot.assertion(),
      authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]), task_id: 'T-1',
    }
    expect((await t.token(fields)).status).toBe(429)
    expect((await t.storage.audit.head()).seq).toBe(before)
    t.clock.advance(1000)
    expect((await t.token(fields)).status).toBe(200)
  })

  it('keys the agent bucket on the verified agent: forged assertions claiming its id do not drain it', async () => {
    await start({ config: ONLY_PER_AGENT(1, 2) })
    const bot = await t.register(exampleDocument('deploy-bot'))
    const { privateKey } = generateKeyPairSync('ed25519')
    const forged = { ...privateKey.export({ format: 'jwk' }), kid: bot.privateJwk.kid as string }
    for (let i = 0; i < 20; i++) {
      const assertion = await signClientAssertion({ privateKey: forged, agentId: bot.agent.id, audience: ISSUER, now: () => t.clock.nowSeconds() })
      const response = await t.token({
        grant_type: 'client_credentials', client_id: bot.agent.id,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
      })
      expect(response.status).toBe(401)
    }
    expect((await capability(bot)).status).toBe(200)
    expect((await capability(bot)).status).toBe(200)
    expect((await capability(bot)).status).toBe(429)
  })

  it('limits per client address before the request is read, parsed or authenticated', async () => {
    await start({ config: ONLY_PER_ADDRESS(1, 2), remoteAddress: (c) => c.req.header('x-test-peer') })
    const before = (await t.storage.audit.head()).seq
    // Garbage bodies: each answered 401 and audited as an authentication failure, until the bucket is empty.
    for (let i = 0; i < 2; i++) expect((await fromPeer('198.51.100.7')).status).toBe(401)
    const refused = await fromPeer('198.51.100.7')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(await refused.json()).toMatchObject({ error: 'slow_down', writ_code: 'RATE_LIMITED', reasons: ['address_rate_limited'] })
    // Not even the body's content type is looked at once the address is over its limit.
    expect((await fromPeer('198.51.100.7', 'x'.repeat(70_000))).status).toBe(429)
    expect((await t.storage.audit.head()).seq).toBe(before + 2)
    expect((await fromPeer('198.51.100.8')).status).toBe(401)
    t.clock.advance(1000)
    expect((await fromPeer('198.51.100.7')).status).toBe(401)
  })

  it('puts one IPv6 /64 in one address bucket', async () => {
    await start({ config: ONLY_PER_ADDRESS(1, 1), remoteAddress: (c) => c.req.header('x-test-peer') })
    expect((await fromPeer('2001:db8:1:2::1')).status).toBe(401)
    expect((await fromPeer('2001:db8:1:2::2')).status).toBe(429)
    expect((await fromPeer('2001:db8:1:3::1')).status).toBe(401)
  })

  it('checks the address before the agent, and both must admit', async () => {
    await start({ config: { rateLimits: { perAddress: { ratePerSecond: 1, burst: 3 }, perAgent: { ratePerSecond: 1, burst: 2 } } } })
    const bot = await t.register(exampleDocument('deploy-bot'))
    const other = await t.register(exampleDocument('sre-responder'))
    expect((await capability(bot)).status).toBe(200)
    expect((await capability(bot)).status).toBe(200)
    expect(await (await capability(bot)).json()).toMatchObject({ reasons: ['agent_rate_limited'] })
    expect(await (await t.requestCapability(other, 'alerts.read', 'host:web-1')).json()).toMatchObject({ reasons: ['address_rate_limited'] })
  })

  it('is off when disabled or at rate 0', async () => {
    for (const rateLimits of [
      { perAgent: { enabled: false }, perAddress: { enabled: false } },
      { perAgent: { ratePerSecond: 0, burst: 1 }, perAddress: { ratePerSecond: 0, burst: 1 } },
    ]) {
      await start({ config: { rateLimits } })
      const bot = await t.register(exampleDocument('deploy-bot'))
      for (let i = 0; i < 5; i++) expect((await capability(bot)).status).toBe(200)
      expect(t.app.rateLimits.trackedKeys).toEqual({ agents: 0, addresses: 0 })
    }
  })

  it('holds at most rateLimits.maxTrackedKeys address buckets under a flood of made-up addresses', async () => {
    await start({ config: { rateLimits: { maxTrackedKeys: 100, perAddress: { ratePerSecond: 1, burst: 1 } } }, remoteAddress: (c) => c.req.header('x-test-peer') })
    for (let i = 0; i < 400; i++) {
      expect((await fromPeer(`2001:db8:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}::1`)).status).toBe(401)
    }
    expect(t.app.rateLimits.trackedKeys.addresses).toBe(100)
    t.clock.advance(1000)
    t.app.rateLimits.prune()
    expect(t.app.rateLimits.trackedKeys.addresses).toBe(0)
  })

  it('audits refusals as one summary per interval with counts per agent and address, and no tokens or assertions', async () => {
    await start({ config: { rateLimits: { perAgent: { ratePerSecond: 1, burst: 1 }, perAddress: { ratePerSecond: 1, burst: 5 } } }, remoteAddress: (c) => c.req.header('x-test-peer') ?? '192.0.2.1' })
    const bot = await t.register(exampleDocument('deploy-bot'))
    const other = await t.register(exampleDocument('sre-responder'))
    const assertions: string[] = []
    const send = async (agent: TestAgent, action: string, resource: string) => {
      const assertion = await agent.assertion()
      assertions.push(assertion)
      return t.token({
        grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
        authorization_details: JSON.stringify([{ type: 'writ_action', action, resource, actions: ['read'] }]), task_id: 'T-1',
      })
    }
    expect((await send(bot, 'tests.run', 'repo:acme/billing')).status).toBe(200)
    expect((await send(bot, 'tests.run', 'repo:acme/billing')).status).toBe(429)
    expect((await send(other, 'alerts.read', 'host:web-1')).status).toBe(200)
    expect((await send(bot, 'tests.run', 'repo:acme/billing')).status).toBe(429)
    for (let i = 0; i < 5; i++) expect((await fromPeer('198.51.100.9')).status).toBe(401)
    for (let i = 0; i < 5; i++) expect((await fromPeer('198.51.100.9')).status).toBe(429)
    const before = (await t.storage.audit.head()).seq

    t.clock.advance(60_000)
    await t.app.rateLimits.flush()
    const records = await t.storage.audit.records({ afterSeq: before, limit: 10 })
    expect(records).toHaveLength(1)
    const summary = records[0] as AuditRecord
    expect(summary).toMatchObject({
      type: 'rate_limit.refused', actor: { kind: 'system', id: 'rate-limits' }, decision: { effect: 'deny', reasons: ['rate_limited'] },
      data: {
        refused: 7,
        per_agent: { refused: 2, agents: 1, top: [{ agent_id: bot.agent.id, refused: 2 }] },
        per_address: { refused: 5, addresses: 1, top: [{ address: '198.51.100.9', refused: 5 }] },
      },
    })
    expect(summary.data?.to).toBe(new Date(t.clock.nowMs()).toISOString())
    const stored = JSON.stringify(await t.storage.db.selectFrom('audit_events').select('record').execute())
    for (const assertion of assertions) expect(stored).not.toContain(assertion.split('.')[2])

    // A quiet interval writes nothing.
    await t.app.rateLimits.flush()
    expect((await t.storage.audit.head()).seq).toBe(before + 1)
    expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
  })

  it('names at most ten keys in the summary but counts them all', async () => {
    await start({ config: ONLY_PER_ADDRESS(1, 1), remoteAddress: (c) => c.req.header('x-test-peer') })
    for (let i = 0; i < 25; i++) {
      await fromPeer(`192.0.2.${i}`)
      for (let n = 0; n <= i % 3; n++) expect((await fromPeer(`192.0.2.${i}`)).status).toBe(429)
    }
    await t.app.rateLimits.flush()
    const [summary] = await t.storage.audit.tail(1)
    const perAddress = summary?.data?.per_address as { refused: number; addresses: number; top: Array<{ refused: number }> }
    expect(perAddress.refused).toBe(8 * 3 + 9 * 1 + 8 * 2)
    expect(perAddress.addresses).toBe(25)
    expect(perAddress.top).toHaveLength(10)
    expect(perAddress.top.map((entry) => entry.refused)).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 2, 2])
  })

  it('writes the summary of the last interval when the app closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'writ-rate-limits-'))
    try {
      const file = join(dir, 'writ.db')
      const app = await createTestApp({ config: ONLY_PER_AGENT(1, 1), storage: await openStorage({ driver: 'sqlite', sqlitePath: file }) })
      t = app
      const bot = await app.register(exampleDocument('deploy-bot'))
      expect((await capability(bot)).status).toBe(200)
      expect((await capability(bot)).status).toBe(429)
      await app.close()
      const reopened: Storage = await openStorage({ driver: 'sqlite', sqlitePath: file })
      try {
        const [last] = await reopened.audit.tail(1)
        expect(last).toMatchObject({ type: 'rate_limit.refused', data: { refused: 1, per_agent: { top: [{ agent_id: bot.agent.id, refused: 1 }] } } })
      } finally {
        await reopened.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('surfaces a refusal in the SDK agent client as WritError RATE_LIMITED', async () => {
    await start({ config: ONLY_PER_AGENT(1, 1) })
    const bot = await t.register(exampleDocument('deploy-bot'))
    const client = createAgentClient({
      issuer: ISSUER, agentId: bot.agent.id, privateKey: bot.privateJwk, now: () => t.clock.nowSeconds(),
      fetch: (input, init) => Promise.resolve(t.app.publicApp.request(String(input), init)),
    })
    const request = { action: 'tests.run', resource: 'repo:acme/billing', access: 'read' as const, taskId: 'T-1' }
    await client.requestCapability(request)
    const error = await client.requestCapability(request).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WritError)
    expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 429, reasons: ['agent_rate_limited'], extra: { retry_after: 1 } })
  })
})
