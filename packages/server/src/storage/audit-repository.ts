/** SQL for the hash-chained audit log: append inside the caller's transaction, read in seq order. */
import type { Kysely } from 'kysely'
import { sealAfter, type AuditEvent, type AuditRecord } from '../audit/audit-record.js'
import type { Database } from './tables.js'
import type { Driver } from './storage.js'

export interface StoredAuditRow {
  seq: number
  record: string
  prev_hash: string
  hash: string
}

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>, private readonly driver: Driver) {}

  /**
   * Appends events after the current head and moves the head.
   * INVARIANT: runs inside the caller's transaction. On PostgreSQL the head row is locked FOR UPDATE, so appenders in
   * every replica queue behind one another and prev_hash always names the row before; on SQLite the transaction is
   * BEGIN IMMEDIATE, which takes the write lock up front. The seq primary key backs both: a fork cannot commit.
   */
  async append(events: readonly AuditEvent[], timeMs: number): Promise<AuditRecord[]> {
    if (events.length === 0) return []
    let head = this.db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1)
    if (this.driver === 'postgres') head = head.forUpdate()
    const current = await head.executeTakeFirstOrThrow()
    const { sealed, head: next } = sealAfter({ seq: Number(current.seq), hash: current.hash }, events, timeMs)
    await this.db.insertInto('audit_events').values(sealed.map(({ record: r, json }) => ({
      seq: r.seq, time: timeMs, type: r.type, record: json, prev_hash: r.prev_hash, hash: r.hash,
    }))).execute()
    await this.db.updateTable('audit_head').set(next).where('id', '=', 1).execute()
    return sealed.map((s) => s.record)
  }

  async head(): Promise<{ seq: number; hash: string }> {
    const row = await this.db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow()
    return { seq: Number(row.seq), hash: row.hash }
  }

  /** The head the self-check last verified (seq 0 and the genesis hash before the first check). */
  async verifiedHead(): Promise<{ seq: number; hash: string; verifiedAt: number }> {
    const row = await this.db.selectFrom('audit_verified').select(['seq', 'hash', 'verified_at']).where('id', '=', 1).executeTakeFirstOrThrow()
    return { seq: Number(row.seq), hash: row.hash, verifiedAt: Number(row.verified_at) }
  }

  /** Moves the verified head forward; never back, so replicas checking the same chain cannot undo each other. */
  async recordVerified(head: { seq: number; hash: string }, timeMs: number): Promise<void> {
    await this.db.updateTable('audit_verified').set({ seq: head.seq, hash: head.hash, verified_at: timeMs })
      .where('id', '=', 1).where('seq', '<=', head.seq).execute()
  }

  /** Rows with seq > afterSeq, in order, at most `limit`. */
  async page(afterSeq: number, limit: number): Promise<StoredAuditRow[]> {
    const rows = await this.db.selectFrom('audit_events').select(['seq', 'record', 'prev_hash', 'hash'])
      .where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute()
    return rows.map((r) => ({ ...r, seq: Number(r.seq) }))
  }

  async tail(count: number): Promise<AuditRecord[]> {
    const rows = await this.db.selectFrom('audit_events').select(['record']).orderBy('seq', 'desc').limit(count).execute()
    return rows.reverse().map((r) => JSON.parse(r.record) as AuditRecord)
  }

  /** Records of the given types at or after a time, in seq order, one page at a time. */
  async since(timeMs: number, types: readonly string[], afterSeq: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.db.selectFrom('audit_events').select(['record']).where('time', '>=', timeMs)
      .where('type', 'in', [...types]).where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute()
    return rows.map((r) => JSON.parse(r.record) as AuditRecord)
  }

  async records(filter: { afterSeq?: number; limit: number; type?: string; taskId?: string }): Promise<AuditRecord[]> {
    let query = this.db.selectFrom('audit_events').select(['record']).where('seq', '>', filter.afterSeq ?? 0)
    if (filter.type) query = query.where('type', '=', filter.type)
    const rows = await query.orderBy('seq').limit(filter.limit).execute()
    const records = rows.map((r) => JSON.parse(r.record) as AuditRecord)
    return filter.taskId ? records.filter((r) => r.task?.id === filter.taskId) : records
  }
}
