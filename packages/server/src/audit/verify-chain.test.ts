import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { openStorage } from '../storage/open-storage.js'
import type { Storage } from '../storage/storage.js'
import { verifyChain } from './verify-chain.js'
import { canonicalJson, hashRecord, type AuditRecord } from './audit-record.js'

describe('verifyChain', () => {
  let storage: Storage
  beforeEach(async () => {
    storage = await openStorage({ driver: 'sqlite', sqlitePath: ':memory:' })
    for (let i = 0; i < 10; i++) {
      await storage.transaction((tx) => tx.audit.append([{ type: 'test.event', actor: { kind: 'system', id: `s${i}` }, data: { i } }], 1_000 + i))
    }
  })
  afterEach(async () => storage.close())

  const record = async (seq: number) => JSON.parse((await storage.db.selectFrom('audit_events').select('record').where('seq', '=', seq).executeTakeFirstOrThrow()).record) as AuditRecord

  it('accepts an untouched chain', async () => {
    expect(await verifyChain(storage.audit)).toMatchObject({ ok: true, count: 10, headSeq: 10 })
  })

  it('names the record whose content was changed by one byte', async () => {
    const r = await record(4)
    await storage.db.updateTable('audit_events').set({ record: JSON.stringify({ ...r, data: { i: 99 } }) }).where('seq', '=', 4).execute()
    expect(await verifyChain(storage.audit)).toMatchObject({ ok: false, firstBad: { seq: 4 } })
  })

  it('names the record after a deleted one', async () => {
    await storage.db.deleteFrom('audit_events').where('seq', '=', 6).execute()
    expect(await verifyChain(storage.audit)).toMatchObject({ ok: false, firstBad: { seq: 6 } })
  })

  it('catches a rewritten record whose hash was recomputed (the next link breaks)', async () => {
    const r = await record(5)
    const { hash: _hash, ...rest } = { ...r, actor: { kind: 'system' as const, id: 'forged' } }
    const forged = { ...rest, hash: hashRecord(rest) }
    await storage.db.updateTable('audit_events').set({ record: JSON.stringify(forged), hash: forged.hash }).where('seq', '=', 5).execute()
    expect(await verifyChain(storage.audit)).toMatchObject({ ok: false, firstBad: { seq: 6 } })
  })

  it('catches reordered records', async () => {
    const [a, b] = [await record(2), await record(3)]
    await sql`update audit_events set record = ${JSON.stringify(b)} where seq = 2`.execute(storage.db)
    await sql`update audit_events set record = ${JSON.stringify(a)} where seq = 3`.execute(storage.db)
    expect(await verifyChain(storage.audit)).toMatchObject({ ok: false, firstBad: { seq: 2 } })
  })

  it('catches tail truncation through the head', async () => {
    await storage.db.deleteFrom('audit_events').where('seq', '>', 8).execute()
    expect(await verifyChain(storage.audit)).toMatchObject({ ok: false, firstBad: { seq: 9 } })
  })

  it('hashes the RFC 8785 canonical form (key order and number form do not matter)', () => {
    expect(canonicalJson({ b: 1, a: [1e0, 'x'] })).toBe('{"a":[1,"x"],"b":1}')
  })

  it('keeps control characters of agent-supplied strings encoded in the stored record', async () => {
    await storage.transaction((tx) => tx.audit.append([{ type: 'test.event', actor: { kind: 'agent', id: 'evil\r\n\u001b[31m{"x":1}' } }], 5_000))
    const row = await storage.db.selectFrom('audit_events').select('record').where('seq', '=', 11).executeTakeFirstOrThrow()
    expect(row.record).not.toMatch(/[\r\n\u001b]/)
    expect(await verifyChain(storage.audit)).toMatchObject({ ok: true, count: 11 })
  })
})
