/**
 * End to end: a resource server's SDK verifier subscribed to a real Writ server's revocation stream refuses what an
 * admin revokes (token, grant subtree, agent killed with the CLI), resumes after a dropped connection without a gap,
 * fails closed while the stream stalls and gets the snapshot after a restart (replicas: revocation-push-replicas).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createAgentClient } from '@writ/sdk'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../packages/server/src/storage/test-database.fixture.js'
import { runWrit } from '../packages/cli/src/test-cli.fixture.js'
import { startStreamProxy, type StreamProxy } from './stream-proxy.fixture.js'
import { ACTION, AUDIENCE, cleanups, jtiOf, mint, outcome, setUp, startWrit, subscribedVerifier, until } from './revocation-e2e.fixture.js'

const engines: Array<[string, () => Promise<Record<string, unknown> | undefined>]> = [
  ['sqlite', async () => undefined],
  [describePostgres(), async () => {
    const database = await createTestDatabase()
    cleanups.push(() => database.drop())
    return { driver: 'postgres', url: database.url }
  }],
]

describe.each(engines)('a subscribed verifier on %s', (engine, storage) => {
  it.skipIf(engine !== 'sqlite' && !TEST_DATABASE_URL)('refuses a revoked token, then every token of an agent killed with `writ agent kill`', async () => {
    const writ = await startWrit({ storage: await storage() })
    const { admin, registerAgent, resourceServer } = await setUp(writ)
    const agent = await registerAgent('deploy-bot')
    const other = await registerAgent('report-bot')
    const first = await mint(writ, agent)
    const second = await mint(writ, agent)
    const bystander = await mint(writ, other)
    const { verifier, subscription } = subscribedVerifier(writ.issuer, writ.server.publicUrl, {
      clientId: resourceServer.id, privateKey: resourceServer.privateJwk,
    })
    await subscription.ready
    expect(await outcome(verifier, first.token)).toBe('accepted')

    await admin('POST', '/v1/revocations', { kind: 'token', jti: first.jti, reason: 'leaked in a log' })
    await until(verifier, first.token, 'TOKEN_REVOKED')
    expect(await outcome(verifier, second.token)).toBe('accepted')

    // The kill switch as an operator pulls it: `writ agent kill`, found through the data directory.
    const killed = await runWrit(['--data-dir', writ.dataDir, 'agent', 'kill', 'deploy-bot', '--reason', 'prompt-injected'])
    expect(killed.code, killed.stderr).toBe(0)
    await until(verifier, second.token, 'TOKEN_REVOKED')
    expect(await outcome(verifier, bystander.token)).toBe('accepted')
  })
})

describe('a subscribed verifier on sqlite', () => {
  it('refuses tokens minted from a revoked mandate and from a grant delegated under it', async () => {
    const writ = await startWrit()
    const { admin, registerAgent, resourceServer } = await setUp(writ)
    const lead = await registerAgent('lead-bot')
    const helper = await registerAgent('helper-bot')
    const mandate = await admin('POST', '/v1/grants', {
      human: 'alice@example.com', agent: lead.id, authorization_details: [ACTION], task: { id: 'T-9', purpose: 'nightly tests' },
    })
    const leadClient = createAgentClient({ issuer: writ.issuer, agentId: lead.id, privateKey: lead.privateJwk })
    const helperClient = createAgentClient({ issuer: writ.issuer, agentId: helper.id, privateKey: helper.privateJwk })
    const fromMandate = await leadClient.exchangeGrant({ grant: mandate.grant as string, action: ACTION.action, resource: ACTION.resource, audience: AUDIENCE })
    const delegated = await leadClient.delegateGrant({ grant: mandate.grant as string, to: helper.id })
    const fromDelegated = await helperClient.exchangeGrant({ grant: delegated.grant, action: ACTION.action, resource: ACTION.resource, audience: AUDIENCE })
    const unrelated = await mint(writ, lead, 'T-10')
    const { verifier, subscription } = subscribedVerifier(writ.issuer, writ.server.publicUrl, {
      clientId: resourceServer.id, privateKey: resourceServer.privateJwk,
    })
    await subscription.ready
    expect(await outcome(verifier, fromDelegated.accessToken)).toBe('accepted')

    await admin('POST', '/v1/revocations', { kind: 'grant', jti: jtiOf(mandate.grant as string), reason: 'alice withdrew it' })
    await until(verifier, fromMandate.accessToken, 'TOKEN_REVOKED')
    await until(verifier, fromDelegated.accessToken, 'TOKEN_REVOKED')
    expect(await outcome(verifier, unrelated.token)).toBe('accepted')
  })

  it('resumes after a dropped connection and misses nothing revoked while it was away', async () => {
    const writ = await startWrit()
    const { admin, registerAgent, resourceServer } = await setUp(writ)
    const agent = await registerAgent('deploy-bot')
    const [a, b] = [await mint(writ, agent), await mint(writ, agent)]
    const proxy: StreamProxy = await startStreamProxy(new URL(writ.server.publicUrl))
    cleanups.push(() => proxy.close())
    const { verifier, subscription } = subscribedVerifier(writ.issuer, writ.server.publicUrl, {
      eventsUrl: `${proxy.origin}/revocations/events`, clientId: resourceServer.id, privateKey: resourceServer.privateJwk,
    })
    await subscription.ready
    await admin('POST', '/v1/revocations', { kind: 'token', jti: a.jti, reason: 'first' })
    await until(verifier, a.token, 'TOKEN_REVOKED')
    const seen = subscription.list.lastEventId!

    proxy.stall(true) // the next event cannot arrive on this connection ...
    await admin('POST', '/v1/revocations', { kind: 'token', jti: b.jti, reason: 'second' })
    proxy.dropAll() // ... and the connection dies with it undelivered
    proxy.stall(false)
    await until(verifier, b.token, 'TOKEN_REVOKED')
    expect(proxy.accepted).toBeGreaterThanOrEqual(2)
    expect(subscription.list.lastEventId).toBeGreaterThan(seen)
  })

  it('strict mode fails closed while the stream stalls and recovers when it flows again', async () => {
    const writ = await startWrit()
    const { registerAgent, resourceServer } = await setUp(writ)
    const token = (await mint(writ, await registerAgent('deploy-bot'))).token
    const proxy = await startStreamProxy(new URL(writ.server.publicUrl))
    cleanups.push(() => proxy.close())
    const { verifier, subscription } = subscribedVerifier(writ.issuer, writ.server.publicUrl, {
      eventsUrl: `${proxy.origin}/revocations/events`, clientId: resourceServer.id, privateKey: resourceServer.privateJwk, staleAfterSeconds: 2,
    })
    await subscription.ready
    expect(await outcome(verifier, token)).toBe('accepted')
    proxy.stall(true)
    await until(verifier, token, 'REVOCATION_STALE')
    proxy.stall(false)
    await until(verifier, token, 'accepted')
  })

  it('gets the snapshot from a control plane restarted on the same data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'writ-revocation-restart-'))
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
    const first = await startWrit({ dataDir })
    const { admin, registerAgent, resourceServer } = await setUp(first)
    const agent = await registerAgent('deploy-bot')
    const revoked = await mint(first, agent)
    const kept = await mint(first, agent)
    await admin('POST', '/v1/revocations', { kind: 'token', jti: revoked.jti, reason: 'before the restart' })
    const ports = { port: Number(new URL(first.server.publicUrl).port), adminPort: Number(new URL(first.server.adminUrl).port) }
    const issuer = first.issuer
    await first.stop()

    const second = await startWrit({ dataDir, ports })
    expect(second.issuer).toBe(issuer)
    const { verifier, subscription } = subscribedVerifier(issuer, second.server.publicUrl, {
      clientId: resourceServer.id, privateKey: resourceServer.privateJwk,
    })
    await subscription.ready // the snapshot is complete at the first heartbeat
    expect(await outcome(verifier, revoked.token)).toBe('TOKEN_REVOKED')
    expect(await outcome(verifier, kept.token)).toBe('accepted')
  })
})
