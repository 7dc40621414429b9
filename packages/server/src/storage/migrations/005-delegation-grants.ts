/** Delegation grants: stored so they can be listed and revoked, and so a revocation reaches everything derived from them. */
import type { Kysely } from 'kysely'

export const name = 'delegation-grants'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('grants')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('parent_jti', 'text')
    .addColumn('root_jti', 'text', (c) => c.notNull())
    // JSON array of the jtis from the root to the parent: the issuing transaction checks all of them for a revocation.
    .addColumn('ancestors', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    // JSON array of the human subject's groups (from their identity provider), or null when the subject is an agent.
    .addColumn('human_groups', 'text')
    .addColumn('may_act', 'text', (c) => c.notNull())
    // JSON: the RFC 8693 `act` claim of the grant, or null at the root.
    .addColumn('chain', 'text')
    .addColumn('depth', 'integer', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('task', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('revoked_by', 'text')
    .execute()
  await db.schema.createIndex('grants_root').on('grants').column('root_jti').execute()
  await db.schema.createIndex('grants_may_act').on('grants').column('may_act').execute()
}
