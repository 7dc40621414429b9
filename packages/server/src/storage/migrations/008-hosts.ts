/** Hosts (issue 13): enrolled Linux hosts, their versions, one-time join tokens, and the action reports already received. */
import type { Kysely } from 'kysely'

export const name = 'hosts'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('hosts')
    // The host's client id: the id of the resource server registered for it (same namespace as agents).
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Never reused after removal: audit records and certificates name hosts by name.
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('labels', 'text', (c) => c.notNull())
    .addColumn('ssh_host_public_key', 'text', (c) => c.notNull())
    .addColumn('client_jwk', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('join_token_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()

  await db.schema.createTable('host_versions')
    .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('labels', 'text', (c) => c.notNull())
    // `host:<id>` for the enrollment itself, `admin:<id>` for later changes.
    .addColumn('changed_by', 'text', (c) => c.notNull())
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    .addColumn('change', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('host_versions_pk', ['host_id', 'version'])
    .execute()

  await db.schema.createTable('host_join_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // SHA-256 of the secret part, hex: the token itself is never stored.
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('labels', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('spent_at', 'bigint')
    .addColumn('host_id', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()

  await db.schema.createTable('host_action_reports')
    // The host's idempotency key: a report re-sent after a lost answer is recognised and not audited twice.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host_id', 'text', (c) => c.notNull())
    .addColumn('jti', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute()
}
