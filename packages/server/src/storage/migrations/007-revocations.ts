/** Revocations (one row per revocation, kept) and their events (the stream's feed, pruned once they can matter no more). */
import type { Kysely } from 'kysely'

export const name = 'revocations'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('revocations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    // The jti, task id, agent id or key id; never a token string.
    .addColumn('target', 'text', (c) => c.notNull())
    // JSON: what it covers (counts and ids), as the audit record names it.
    .addColumn('covers', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    // JSON: `{"kind": "admin"|"agent"|"resource_server", "id": ...}`.
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint', (c) => c.notNull())
    .addColumn('forget_after', 'bigint', (c) => c.notNull())
    .execute()
  // The issuing transaction asks whether a task of its batch is revoked: one indexed lookup.
  await db.schema.createIndex('revocations_kind_target').on('revocations').columns(['kind', 'target']).execute()
  await db.schema.createTable('revocation_events')
    // Allocated max+1 after the audit append, whose lock serialises writers: commit order is id order.
    .addColumn('event_id', 'bigint', (c) => c.primaryKey())
    .addColumn('revocation_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('iss', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint', (c) => c.notNull())
    .addColumn('forget_after', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('revocation_events_forget_after').on('revocation_events').column('forget_after').execute()
}
