import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { GRANT_TYPES } from '@writ/sdk'
import { createTestApp, exampleDocument, type TestApp } from '../test-app.fixture.js'
import { fixedClock } from '../clock.js'
import { createLogger } from '../logger.js'
import type { ConfigInput } from '../config/schema.js'
import { openStorage } from '../storage/open-storage.js'
import type { Storage } from '../storage/storage.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../storage/test-database.fixture.js'
import type { ServerStatus } from '../status/status-routes.js'
import { hashRecord, type AuditRecord } from './audit-record.js'
import { AuditSelfCheck } from './audit-self-check.js'
import { verifyChain } from './verify-chain.js'

type Engine = { name: string; open: () => Promise<{ storage: Storage; dispose(): Promise<void> }> }
const engines: Engine[] = [{
  name: 'a sqlite file',
  open: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'writ-self-check-'))
    const storage = await openStorage({ driver: 'sqlite', sqlitePath: join(dir, 'writ.db') })
    return { storage, dispose: async () => rmSync(dir, { recursive: true, force: true }) }
  },
}]
if (TEST_DATABASE_URL) {
  engines.push({ name: 'postgres', open: async () => {
    const database = await createTestDatabase()
    const storage = await openStorage({ driver: 'postgres', url: database.url })
    return { storage, dispose: () => database.drop() }
  } })
} else describePostgres()

/** Rewrites one stored record's content without fixing its hash, as someone editing the database by hand would. */
async function tamper(storage: Storage, seq: number): Promise<void> {
  const row = await storage.db.selectFrom('audit_events').select('record').where('seq', '=', seq).executeTakeFirstOrThrow()
  const record = JSON.parse(row.record) as AuditRecord
  await storage.db.updateTable('audit_events').set({ record: JSON.stringify({ ...record, actor: { ...record.actor, id: 'someone-else' } }) })
    .where('seq', '=', seq).execute()
}

describe.each(engines)('the audit self-check on $name', (engine) => {
  let t: TestApp
  let dispose: () => Promise<void>
  const logs: string[] = []

  const start = async (config: ConfigInput = {}) => {
    const opened = await engine.open()
    dispose = opened.dispose
    t = await createTestApp({ storage: opened.storage, config })
    return t
  }
  afterEach(async () => {
    await t.close()
    await dispose()
    logs.length = 0
  })
  const status = async () => (await (await t.admin('GET', '/v1/status')).json()) as ServerStatus

  it('verifies the chain at start-up and keeps the verified head in storage', async () => {
    await start()
    const head = await t.storage.audit.head()
    expect(t.app.selfCheck.status()).toMatchObject({ state: 'ok', verified: { seq: head.seq, hash: head.hash } })
    expect(await t.storage.audit.verifiedHead()).toMatchObject({ seq: head.seq, hash: head.hash })
  })

  it('refuses every token with 503 AUDIT_CHAIN_BROKEN once a check finds a tampered record, and status shows the break', async () => {
    await start()
    const bot = await t.register(exampleDocument('deploy-bot'))
    expect((await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })).status).toBe(200)
    const issued = await t.storage.tokens.countIssued()
    const verified = (await t.storage.audit.verifiedHead()).seq
    await t.storage.transaction((tx) => tx.audit.append([{ type: 'test.event', actor: { kind: 'system', id: 'test' } }], t.clock.nowMs()))
    await tamper(t.storage, verified + 1)
    expect(await t.app.selfCheck.check()).toMatchObject({ state: 'broken', first_bad: { seq: verified + 1, reason: 'hash does not match the record content' } })

    const response = await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })
    expect(response.status).toBe(503)
    const body = await response.json() as Record<string, unknown>
    expect(body).toMatchObject({ error: 'temporarily_unavailable', writ_code: 'AUDIT_CHAIN_BROKEN' })
    expect(body).not.toHaveProperty('access_token')
    expect(await t.storage.tokens.countIssued()).toBe(issued)
    // The CIBA grant goes through the same endpoint, so an approved request cannot be redeemed either.
    const poll = await t.token({ grant_type: GRANT_TYPES.ciba, client_id: bot.agent.id, auth_req_id: 'a'.repeat(40) })
    expect(await poll.json()).toMatchObject({ writ_code: 'AUDIT_CHAIN_BROKEN' })

    expect(await status()).toMatchObject({
      audit: { issuance: 'halted', self_check: { state: 'broken', first_bad: { seq: verified + 1 } } },
    })
  })

  it('goes on issuing when audit.haltIssuanceOnBrokenChain is off, and status still shows the break', async () => {
    await start({ audit: { haltIssuanceOnBrokenChain: false } })
    const bot = await t.register(exampleDocument('deploy-bot'))
    await tamper(t.storage, (await t.storage.audit.head()).seq)
    expect(await t.app.selfCheck.check()).toMatchObject({ state: 'broken' })
    expect((await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })).status).toBe(200)
    expect(await status()).toMatchObject({ audit: { issuance: 'open', self_check: { state: 'broken' } } })
  })

  it('logs the break once, with the first bad seq and the reason', async () => {
    await start()
    const head = await t.storage.audit.head()
    await tamper(t.storage, head.seq)
    const check = new AuditSelfCheck({
      audit: t.storage.audit, clock: fixedClock(0), haltIssuance: true,
      logger: createLogger('info', fixedClock(0), (line) => logs.push(line)),
    })
    await check.check()
    await check.check()
    expect(logs).toHaveLength(1)
    expect(JSON.parse(logs[0] as string)).toMatchObject({ level: 'error', msg: 'the audit chain is broken', seq: head.seq, reason: 'hash does not match the record content' })
    expect(check.issuanceHalted).toBe(true)
  })

  it('catches a verified record rewritten with a recomputed hash, and a head moved back behind the verified one', async () => {
    await start()
    const head = await t.storage.audit.head()
    const [row] = await t.storage.audit.page(head.seq - 1, 1)
    const original = JSON.parse(row?.record as string) as AuditRecord
    const { hash: _hash, ...unsealed } = { ...original, actor: { kind: 'system' as const, id: 'forged' } }
    const forged = { ...unsealed, hash: hashRecord(unsealed) }
    await t.storage.db.updateTable('audit_events').set({ record: JSON.stringify(forged), hash: forged.hash }).where('seq', '=', head.seq).execute()
    const fresh = () => new AuditSelfCheck({ audit: t.storage.audit, clock: t.clock, logger: createLogger('silent', t.clock), haltIssuance: true })
    expect(await fresh().check()).toMatchObject({ state: 'broken', first_bad: { seq: head.seq, reason: 'record changed after it was verified' } })
    await t.storage.db.updateTable('audit_events').set({ record: row?.record as string, hash: row?.hash as string }).where('seq', '=', head.seq).execute()
    expect(await fresh().check()).toMatchObject({ state: 'ok' })

    await t.storage.db.deleteFrom('audit_events').where('seq', '=', head.seq).execute()
    await t.storage.db.updateTable('audit_head').set({ seq: head.seq - 1, hash: row?.prev_hash as string }).execute()
    expect(await fresh().check()).toMatchObject({ state: 'broken', first_bad: { seq: head.seq, reason: `the head names ${head.seq - 1} but record ${head.seq} was verified before` } })
  })
})

describe('verifyChain on a busy chain', () => {
  it('stops at the head it read first, so records appended during the walk are not a truncation', async () => {
    const storage = await openStorage({ driver: 'sqlite', sqlitePath: ':memory:' })
    const append = (n: number) => storage.transaction((tx) => tx.audit.append(
      Array.from({ length: n }, (_, i) => ({ type: 'test.event', actor: { kind: 'system' as const, id: `s${i}` } })), 1_000))
    await append(10)
    let appended = false
    const busy = {
      head: () => storage.audit.head(),
      page: async (afterSeq: number, limit: number) => {
        if (!appended) { appended = true; await append(5) }
        return storage.audit.page(afterSeq, limit)
      },
    }
    expect(await verifyChain(busy)).toMatchObject({ ok: true, count: 10, headSeq: 10 })
    expect(await verifyChain(storage.audit, { from: (await storage.audit.page(9, 1))[0] })).toMatchObject({ ok: true, count: 5, headSeq: 15 })
    await storage.close()
  })
})
