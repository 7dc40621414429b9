/** Admin credentials: who revoked one, and when each was last used (for `writ admin list`). */
import type { Kysely } from 'kysely'

export const name = 'admin-revocation'

export async function up(db: Kysely<unknown>): Promise<void> {
  // `disabled_at` (001) is the revocation time; the admin who revoked is named here and in the audit record.
  // SQLite takes one ADD COLUMN per statement.
  await db.schema.alterTable('admins').addColumn('disabled_by', 'text').execute()
  await db.schema.alterTable('admins').addColumn('last_used_at', 'bigint').execute()
}
