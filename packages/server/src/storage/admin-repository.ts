/** SQL for admin credentials (stored as hashes only). */
import type { Kysely } from 'kysely'
import type { Driver } from './storage.js'
import type { Database } from './tables.js'

export interface AdminRecord {
  id: string
  name: string
  roles: string[]
  tokenHash: string
  createdAt: number
  /** When the credential was revoked; null while it is active. */
  disabledAt: number | null
  /** The admin who revoked it. */
  disabledBy: string | null
  /** Updated at most once a minute (see authenticateAdmin), so a busy admin costs one write a minute, not one per call. */
  lastUsedAt: number | null
}

export type NewAdmin = Omit<AdminRecord, 'disabledAt' | 'disabledBy' | 'lastUsedAt'>

export class AdminRepository {
  constructor(private readonly db: Kysely<Database>, private readonly driver: Driver) {}

  async find(id: string): Promise<AdminRecord | undefined> {
    const row = await this.db.selectFrom('admins').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toAdmin(row)
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('admins').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    return Number(row.n)
  }

  /** Every credential, revoked ones included, oldest first. */
  async list(): Promise<AdminRecord[]> {
    const rows = await this.db.selectFrom('admins').selectAll().orderBy('created_at').orderBy('id').execute()
    return rows.map(toAdmin)
  }

  /**
   * The active credentials. INVARIANT: inside a transaction on PostgreSQL their rows stay locked until it ends, so two
   * revocations that each check "another admin remains" are serialised and cannot both pass (SQLite: BEGIN IMMEDIATE).
   */
  async listActiveLocked(): Promise<AdminRecord[]> {
    let query = this.db.selectFrom('admins').selectAll().where('disabled_at', 'is', null).orderBy('id')
    if (this.driver === 'postgres') query = query.forUpdate()
    return (await query.execute()).map(toAdmin)
  }

  async insert(admin: NewAdmin): Promise<void> {
    await this.db.insertInto('admins').values({
      id: admin.id, name: admin.name, roles: JSON.stringify(admin.roles), token_hash: admin.tokenHash,
      created_at: admin.createdAt, disabled_at: null, disabled_by: null, last_used_at: null,
    }).execute()
  }

  /** Revokes an active credential; false when it was already revoked (or does not exist). */
  async revoke(id: string, atMs: number, by: string): Promise<boolean> {
    const result = await this.db.updateTable('admins').set({ disabled_at: atMs, disabled_by: by })
      .where('id', '=', id).where('disabled_at', 'is', null).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async touch(id: string, atMs: number): Promise<void> {
    await this.db.updateTable('admins').set({ last_used_at: atMs }).where('id', '=', id).execute()
  }
}

function toAdmin(row: Database['admins']): AdminRecord {
  return {
    id: row.id, name: row.name, roles: JSON.parse(row.roles) as string[], tokenHash: row.token_hash,
    createdAt: Number(row.created_at), disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
    disabledBy: row.disabled_by, lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  }
}
