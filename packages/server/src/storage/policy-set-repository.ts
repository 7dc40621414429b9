/** SQL for versioned policy sets: each push is a new immutable version; the highest is active. */
import type { Kysely } from 'kysely'
import type { Database } from './tables.js'

export interface StoredPolicySet {
  version: number
  /** File name → Cedar text. */
  files: Record<string, string>
  hash: string
  createdBy: string
  createdAt: number
  comment: string
}

export class PolicySetRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async latest(): Promise<StoredPolicySet | undefined> {
    const row = await this.db.selectFrom('policy_sets').selectAll().orderBy('version', 'desc').limit(1).executeTakeFirst()
    return row && toPolicySet(row)
  }

  async latestVersion(): Promise<number> {
    const row = await this.db.selectFrom('policy_sets').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst()
    return Number(row?.v ?? 0)
  }

  async find(version: number): Promise<StoredPolicySet | undefined> {
    const row = await this.db.selectFrom('policy_sets').selectAll().where('version', '=', version).executeTakeFirst()
    return row && toPolicySet(row)
  }

  async list(): Promise<Omit<StoredPolicySet, 'files'>[]> {
    const rows = await this.db.selectFrom('policy_sets').select(['version', 'hash', 'created_by', 'created_at', 'comment']).orderBy('version').execute()
    return rows.map((r) => ({ version: r.version, hash: r.hash, createdBy: r.created_by, createdAt: Number(r.created_at), comment: r.comment }))
  }

  /** INVARIANT: version is the primary key, so two concurrent pushes cannot both become version N. */
  async insert(set: StoredPolicySet): Promise<void> {
    await this.db.insertInto('policy_sets').values({
      version: set.version, files: JSON.stringify(set.files), hash: set.hash, created_by: set.createdBy,
      created_at: set.createdAt, comment: set.comment,
    }).execute()
  }
}

function toPolicySet(row: Database['policy_sets']): StoredPolicySet {
  return {
    version: row.version, files: JSON.parse(row.files) as Record<string, string>, hash: row.hash,
    createdBy: row.created_by, createdAt: Number(row.created_at), comment: row.comment,
  }
}
