/** SQL for issued token ids and used client-assertion ids (the replay store). */
import type { Kysely } from 'kysely'
import type { Database, IssuedTokensTable } from './tables.js'

export type IssuedTokenRow = IssuedTokensTable

export class TokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async recordIssued(rows: readonly IssuedTokenRow[]): Promise<void> {
    if (rows.length > 0) await this.db.insertInto('issued_tokens').values([...rows]).execute()
  }

  /**
   * Marks assertion ids as used and returns the keys (`client_id + ' ' + jti`) that were new.
   * INVARIANT: the primary key (client_id, jti) makes exactly one of any number of concurrent uses win,
   * in one process or across replicas; replay is keyed on the jti, never on the assertion string.
   */
  async useAssertions(rows: readonly { client_id: string; jti: string; expires_at: number }[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set()
    const inserted = await this.db.insertInto('used_assertions').values([...rows])
      .onConflict((oc) => oc.columns(['client_id', 'jti']).doNothing())
      .returning(['client_id', 'jti']).execute()
    return new Set(inserted.map((r) => `${r.client_id} ${r.jti}`))
  }

  async findIssued(jti: string): Promise<IssuedTokenRow | undefined> {
    return this.db.selectFrom('issued_tokens').selectAll().where('jti', '=', jti).executeTakeFirst()
  }

  async countIssued(): Promise<number> {
    const row = await this.db.selectFrom('issued_tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    return Number(row.n)
  }

  /**
   * The replay store holds each jti only until its assertion would have expired (bounded memory and disk). Deletes at
   * most `limit` expired rows and returns how many it deleted: each call is one short write, so a caller pruning a
   * large backlog in chunks never holds the write lock (SQLite) or a large delete (PostgreSQL) for long.
   */
  async pruneAssertions(nowMs: number, limit: number): Promise<number> {
    const result = await this.db.deleteFrom('used_assertions')
      .where(({ eb, refTuple, selectFrom }) => eb(refTuple('client_id', 'jti'), 'in',
        selectFrom('used_assertions').select(['client_id', 'jti']).where('expires_at', '<', nowMs).limit(limit).$asTuple('client_id', 'jti')))
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
