/** Versioned policy sets and human approvals (CIBA-style holds). */
import type { Kysely } from 'kysely'

export const name = 'policy-and-approvals'

export async function up(db: Kysely<unknown>): Promise<void> {
  // Every push is a new immutable version; the highest version is the active set.
  await db.schema.createTable('policy_sets')
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('files', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('comment', 'text', (c) => c.notNull())
    .execute()

  await db.schema.createTable('approvals')
    .addColumn('auth_req_id', 'text', (c) => c.primaryKey())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('binding', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('approvers', 'text', (c) => c.notNull())
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('interval_seconds', 'integer', (c) => c.notNull())
    .addColumn('last_poll_at', 'bigint')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('decision_note', 'text')
    .addColumn('token_jti', 'text')
    .execute()
  await db.schema.createIndex('approvals_agent_status').on('approvals').columns(['agent_id', 'status']).execute()
  await db.schema.createIndex('approvals_status_expiry').on('approvals').columns(['status', 'expires_at']).execute()
  // What-if replays read the audit log by time.
  await db.schema.createIndex('audit_events_time').on('audit_events').column('time').execute()
}
