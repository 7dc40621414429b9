/** The head the audit self-check last verified, so that a restart goes on from it instead of walking the whole chain. */
import type { Kysely } from 'kysely'
import { GENESIS_HASH } from '../../audit/audit-record.js'

export const name = 'audit-verified'

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row, like audit_head; a separate table so the self-check never contends for the row that appenders lock.
  await db.schema.createTable('audit_verified')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('verified_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.insertInto('audit_verified' as never).values({ id: 1, seq: 0, hash: GENESIS_HASH, verified_at: 0 } as never).execute()
}
