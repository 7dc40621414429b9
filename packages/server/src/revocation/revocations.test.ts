import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { verifyChain } from '../audit/verify-chain.js'
import { createAdmin } from '../admins/admin-credentials.js'
import { action, decodePayload, delegate, engines, exchangeForCapability, mandate } from '../delegation/delegation-test.fixture.js'

interface RevocationBody {
  revocation: { id: string; kind: string; target: string; covers: Record<string, unknown>; reason: string; actor: { kind: string; id: string } }
  events: Array<Record<string, unknown> & { id: number; kind: string }>
}

describe.each(engines())('revocations on $name', (engine) => {
  let dispose: () => Promise<void>
  let t: TestApp
  let bot: TestAgent
  let sub: TestAgent
  beforeEach(async () => {
    const opened = await engine.open()
    dispose = opened.dispose
    t = await createTestApp({ storage: opened.storage })
    bot = await t.register(exampleDocument('deploy-bot'))
    sub = await t.register({ ...exampleDocument('deploy-bot'), name: 'sub-bot' })
  })
  afterEach(async () => { await t.close(); await dispose() })

  const revoke = async (body: Record<string, unknown>): Promise<RevocationBody> => {
    const response = await t.admin('POST', '/v1/revocations', body)
    const text = await response.text()
    expect(response.status, text).toBe(201)
    return JSON.parse(text) as RevocationBody
  }
  const mint = async (agent: TestAgent, extra: Record<string, string> = {}) => t.requestCapability(agent, 'tests.run', 'repo:acme/billing', { access: 'read', ...extra })
  const revocationRecords = async () => (await t.storage.audit.records({ type: 'revocation.create', limit: 100 }))
  const now = () => Math.floor(t.clock.nowMs() / 1000)

  it('revokes a token by jti: one audit record naming the jti (never the token), one event until its exp plus leeway', async () => {
    const { access_token: token } = await (await mint(bot)).json() as { access_token: string }
    const claims = decodePayload(token)
    const body = await revoke({ kind: 'token', jti: claims.jti, reason: 'leaked in a CI log' })
    expect(body.revocation).toMatchObject({ kind: 'token', target: claims.jti, reason: 'leaked in a CI log', actor: { kind: 'admin' }, covers: { jti: claims.jti, agent_id: bot.agent.id, task_id: 'T-42' } })
    expect(body.events).toEqual([{ id: 1, kind: 'token', iss: ISSUER, jti: claims.jti, revoked_at: now(), forget_after: (claims.exp as number) + 60 }])
    const records = await revocationRecords()
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ actor: { kind: 'admin' }, token: { jti: claims.jti }, data: { kind: 'token', reason: 'leaked in a CI log' } })
    expect(JSON.stringify(records[0])).not.toContain(token.split('.')[2])
    // An unknown jti is revoked too, kept for the longest lifetime a verifier accepts.
    const unknown = await revoke({ kind: 'token', jti: 'never-issued', reason: 'reported by a resource server' })
    expect(unknown.events[0]).toMatchObject({ id: 2, forget_after: now() + 960 })
    expect(unknown.revocation.covers).toEqual({ jti: 'never-issued', known: false })
    expect(t.app.revocationState.isRevoked(claims as never, undefined)).toBe(true)
  })

  it('revokes a task: nothing more is minted for it, other tasks are unaffected', async () => {
    expect((await mint(bot, { task_id: 'T-7' })).status).toBe(200)
    const body = await revoke({ kind: 'task', task_id: 'T-7', reason: 'runaway plan' })
    expect(body.events).toEqual([{ id: 1, kind: 'task', iss: ISSUER, task_id: 'T-7', revoked_at: now(), forget_after: now() + 960 }])
    const refused = await mint(bot, { task_id: 'T-7' })
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ writ_code: 'TASK_REVOKED', reasons: ['task_revoked'] })
    expect((await mint(bot, { task_id: 'T-9' })).status).toBe(200)
    // No new mandate for it; one created before the revocation issues nothing through exchange.
    const refusedMandate = await t.admin('POST', '/v1/grants', { human: 'a@example.com', agent: bot.agent.id, authorization_details: [action('tests.run', 'repo:acme/*')], task: { id: 'T-7' } })
    expect(await refusedMandate.json()).toMatchObject({ code: 'TASK_REVOKED' })
    const { grant } = await mandate(t, bot, [action('tests.run', 'repo:acme/*')], { task: 'T-8' })
    await revoke({ kind: 'task', task_id: 'T-8', reason: 'second thoughts' })
    const exchanged = await exchangeForCapability(t, bot, grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect(await exchanged.json()).toMatchObject({ writ_code: 'TASK_REVOKED' })
    const delegated = await delegate(t, bot, grant, 'sub-bot', undefined)
    expect(await delegated.json()).toMatchObject({ writ_code: 'TASK_REVOKED' })
    const denials = await t.storage.audit.records({ type: 'token.deny', limit: 10 })
    expect(denials.at(-1)).toMatchObject({ decision: { effect: 'deny', reasons: ['task_revoked'] } })
  })

  it('revokes a grant with its whole subtree: one record, one delegation event per grant, every exchange refused', async () => {
    const root = await mandate(t, bot, [action('tests.run', 'repo:acme/*')])
    const child = await delegate(t, bot, root.grant, 'sub-bot', undefined)
    const childGrant = (await child.json() as { access_token: string }).access_token
    const childJti = decodePayload(childGrant).jti as string
    const body = await revoke({ kind: 'grant', jti: root.jti, reason: 'the human left' })
    expect(body.events.map((e) => [e.kind, e.jti])).toEqual([['delegation', root.jti], ['delegation', childJti]])
    expect(body.revocation.covers).toMatchObject({ grant: root.jti, descendants: [childJti] })
    expect(await t.storage.grants.find(childJti)).toMatchObject({ revokedBy: expect.stringMatching(/^admin:/) })
    expect(await (await exchangeForCapability(t, sub, childGrant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))).json()).toMatchObject({ writ_code: 'GRANT_REVOKED' })
    expect(await (await exchangeForCapability(t, bot, root.grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))).json()).toMatchObject({ writ_code: 'GRANT_REVOKED' })
    expect(await revocationRecords()).toHaveLength(1)
    // The grant API goes through the same path; a second revocation of the same grant is refused.
    expect((await t.admin('POST', `/v1/grants/${root.jti}/revoke`)).status).toBe(400)
  })

  it('kills an agent: suspended at once, no token or exchange for it, its grants revoked, one agent event', async () => {
    const held = await mandate(t, bot, [action('tests.run', 'repo:acme/*')])
    const passed = await delegate(t, bot, held.grant, 'sub-bot', undefined)
    const passedGrant = (await passed.json() as { access_token: string }).access_token
    const body = await revoke({ kind: 'agent', agent_id: bot.agent.name, reason: 'prompt injection suspected' })
    expect(body.events).toEqual([{ id: 1, kind: 'agent', iss: ISSUER, agent_id: bot.agent.id, revoked_at: now(), forget_after: now() + 960 }])
    expect(body.revocation.covers).toMatchObject({ agent_id: bot.agent.id, suspended: true, status_before: 'active' })
    expect((body.revocation.covers.grants as string[]).sort()).toEqual([held.jti, decodePayload(passedGrant).jti].sort())
    expect((await t.storage.agents.find(bot.agent.id))?.status).toBe('suspended')
    const minted = await mint(bot)
    expect(minted.status).not.toBe(200)
    expect(await minted.json()).toMatchObject({ writ_code: 'AGENT_NOT_ACTIVE' })
    const ownExchange = await exchangeForCapability(t, bot, held.grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect(ownExchange.status).not.toBe(200)
    // The chain it appears in is dead too: the sub-agent can exchange nothing it got from the killed agent.
    const downstream = await exchangeForCapability(t, sub, passedGrant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect(downstream.status).toBe(400)
    expect((await mint(sub)).status).toBe(200)
    expect(await t.storage.audit.records({ type: 'agent.suspend', limit: 10 })).toHaveLength(1)
    expect(await revocationRecords()).toHaveLength(1)
    // Killing a suspended agent again still records and emits (the operator may not know it was already stopped).
    expect((await revoke({ kind: 'agent', agent_id: bot.agent.id, reason: 'again' })).revocation.covers).toMatchObject({ suspended: false, status_before: 'suspended' })
  })

  it('revokes the current signing key: a new key signs, the old leaves the JWKS, one key event', async () => {
    const before = t.app.keys.current().kid
    const body = await revoke({ kind: 'key', kid: before, reason: 'key file copied to a laptop' })
    expect(body.events).toEqual([{ id: 1, kind: 'key', iss: ISSUER, kid: before, revoked_at: now(), forget_after: now() + 960 }])
    const after = t.app.keys.current().kid
    expect(after).not.toBe(before)
    expect(body.revocation.covers).toEqual({ kid: before, rotated_to: after })
    const jwks = await (await t.app.publicApp.request('/.well-known/jwks.json')).json() as { keys: Array<{ kid: string }> }
    expect(jwks.keys.map((k) => k.kid)).toEqual([after])
    const { access_token: token } = await (await mint(bot)).json() as { access_token: string }
    expect(JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).kid).toBe(after)
    expect(await (await t.admin('POST', '/v1/revocations', { kind: 'key', kid: before, reason: 'twice' })).json()).toMatchObject({ code: 'REQUEST_INVALID' })
    expect(await (await t.admin('POST', '/v1/revocations', { kind: 'key', kid: 'nope', reason: 'x' })).json()).toMatchObject({ code: 'SIGNING_KEY_NOT_FOUND' })
  })

  it('allocates increasing event ids across concurrent revocations, lists them, and keeps the audit chain whole', async () => {
    await Promise.all(Array.from({ length: 8 }, (_, i) => revoke({ kind: 'token', jti: `j-${i}`, reason: 'bulk' })))
    const events = await t.storage.revocations.eventsAfter(0, t.clock.nowMs(), 100)
    expect(events.map((e) => e.eventId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    const listed = await (await t.admin('GET', '/v1/revocations?limit=5')).json() as { revocations: unknown[] }
    expect(listed.revocations).toHaveLength(5)
    expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
  })

  it('prunes events once they can no longer matter, but never the newest (ids never go back)', async () => {
    await revoke({ kind: 'token', jti: 'a', reason: 'x' })
    await revoke({ kind: 'token', jti: 'b', reason: 'x' })
    t.clock.advance(961_000)
    await t.storage.prune(t.clock.nowMs())
    expect(await t.storage.revocations.lastEventId()).toBe(2)
    expect(await t.storage.revocations.eventsAfter(0, t.clock.nowMs(), 10)).toEqual([])
    expect((await revoke({ kind: 'token', jti: 'c', reason: 'x' })).events[0]?.id).toBe(3)
  })

  it('refuses a bad revocation request with a clear message', async () => {
    const cases: Array<[unknown, string]> = [
      [{ kind: 'token', jti: 'x' }, 'REQUEST_INVALID'],
      [{ kind: 'token', jti: 'x', reason: '   ' }, 'REQUEST_INVALID'],
      [{ kind: 'token', jti: 'x', reason: 'r'.repeat(501) }, 'REQUEST_INVALID'],
      [{ kind: 'token', task_id: 'x', reason: 'r' }, 'REQUEST_INVALID'],
      [{ kind: 'everything', reason: 'r' }, 'REQUEST_INVALID'],
      [{ kind: 'agent', agent_id: 'nobody', reason: 'r' }, 'AGENT_NOT_FOUND'],
      [{ kind: 'grant', jti: 'missing', reason: 'r' }, 'GRANT_NOT_FOUND'],
    ]
    for (const [body, code] of cases) expect(await (await t.admin('POST', '/v1/revocations', body)).json(), JSON.stringify(body)).toMatchObject({ code })
    // Only the roles that may suspend an agent may revoke; an auditor may list.
    const { credential } = await createAdmin('auditor-1', ['auditor'], 'system', t.storage, t.clock)
    const asAuditor = (method: string, body?: unknown) => t.app.adminApp.request('/v1/revocations', {
      method, headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}),
    })
    expect(await (await asAuditor('POST', { kind: 'agent', agent_id: bot.agent.id, reason: 'r' })).json()).toMatchObject({ code: 'ADMIN_FORBIDDEN' })
    expect((await asAuditor('GET')).status).toBe(200)
    expect(await t.storage.revocations.lastEventId()).toBe(0)
    expect((await t.storage.agents.find(bot.agent.id))?.status).toBe('active')
  })
})

describe('revocations after a restart', () => {
  it('are still in force: the new process loads them from storage, and the stream resumes its ids', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { openStorage } = await import('../storage/open-storage.js')
    const dir = mkdtempSync(join(tmpdir(), 'writ-revocation-restart-'))
    try {
      const path = join(dir, 'writ.db')
      const first = await createTestApp({ storage: await openStorage({ driver: 'sqlite', sqlitePath: path }) })
      const bot = await first.register(exampleDocument('deploy-bot'))
      expect((await first.admin('POST', '/v1/revocations', { kind: 'task', task_id: 'T-42', reason: 'before the restart' })).status).toBe(201)
      expect((await first.admin('POST', '/v1/revocations', { kind: 'token', jti: 'old-jti', reason: 'before the restart' })).status).toBe(201)
      await first.close()
      const second = await createTestApp({ storage: await openStorage({ driver: 'sqlite', sqlitePath: path }) })
      expect(second.app.revocationState.isRevoked({ iss: ISSUER, jti: 'old-jti', sub: 'a', client_id: 'a', iat: 0, task: { id: 'T-1' } }, undefined)).toBe(true)
      expect(second.app.revocationFeed.lastEventId).toBe(2)
      const refused = await second.token({
        grant_type: 'client_credentials', client_id: bot.agent.id, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await bot.assertion(), task_id: 'T-42',
        authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]),
      })
      expect(await refused.json()).toMatchObject({ writ_code: 'TASK_REVOKED' })
      // The bootstrap credential was made by the first start; the second uses it.
      const next = await (await second.app.adminApp.request('/v1/revocations', {
        method: 'POST', headers: { authorization: `Bearer ${first.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'token', jti: 'new-jti', reason: 'after' }),
      })).json() as RevocationBody
      expect(next.events[0]?.id).toBe(3)
      await second.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
