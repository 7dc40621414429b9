/** Resource servers: registered clients that accept Writ's tokens for one audience, versioned like agents. */
import type { Kysely } from 'kysely'

export const name = 'resource-servers'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('resource_servers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    // Exact match at the token endpoint (RFC 8707 `resource`) and in each token's `aud`: one audience, one server.
    .addColumn('audience', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()

  await db.schema.createTable('resource_server_versions')
    .addColumn('resource_server_id', 'text', (c) => c.notNull().references('resource_servers.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('changed_by', 'text', (c) => c.notNull())
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    .addColumn('change', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('resource_server_versions_pk', ['resource_server_id', 'version'])
    .execute()
}
