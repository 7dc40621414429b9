/**
 * sqliteAuditPages(): the two reads verifyChain needs (the head, a page of records), as statements prepared once on
 * the maintenance thread's own connection, so the audit self-check walks the chain there without loading Kysely. They
 * are the queries AuditRepository.head and .page build; sqlite-audit-pages.test.ts holds the two to the same rows.
 */
import type BetterSqlite3 from 'better-sqlite3'
import type { AuditRepository, StoredAuditRow } from './audit-repository.js'

export function sqliteAuditPages(database: BetterSqlite3.Database): Pick<AuditRepository, 'head' | 'page'> {
  const head = database.prepare('select "seq", "hash" from "audit_head" where "id" = 1')
  const page = database.prepare('select "seq", "record", "prev_hash", "hash" from "audit_events" where "seq" > ? order by "seq" limit ?')
  return {
    async head() {
      const row = head.get() as { seq: number | bigint; hash: string } | undefined
      if (row === undefined) throw new TypeError('the audit head row is missing; the database was not migrated')
      return { seq: Number(row.seq), hash: row.hash }
    },
    async page(afterSeq: number, limit: number) {
      return (page.all(afterSeq, limit) as StoredAuditRow[]).map((r) => ({ ...r, seq: Number(r.seq) }))
    },
  }
}
