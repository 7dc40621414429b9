/** SQL for admin credentials (stored as hashes only). */
import type { Kysely } from 'kysely'
import type { Database } from './tables.js'

export interface AdminRecord {
  id: string
  name: string
  roles: string[]
  tokenHash: string
  createdAt: number
  disabledAt: number | null
}

export class AdminRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(id: string): Promise<AdminRecord | undefined> {
    const row = await this.db.selectFrom('admins').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toAdmin(row)
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('admins').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    return Number(row.n)
  }

  async insert(admin: AdminRecord): Promise<void> {
    await this.db.insertInto('admins').values({
      id: admin.id, name: admin.name, roles: JSON.stringify(admin.roles), token_hash: admin.tokenHash,
      created_at: admin.createdAt, disabled_at: admin.disabledAt,
    }).execute()
  }
}

function toAdmin(row: Database['admins']): AdminRecord {
  return {
    id: row.id, name: row.name, roles: JSON.parse(row.roles) as string[], tokenHash: row.token_hash,
    createdAt: row.created_at, disabledAt: row.disabled_at,
  }
}
