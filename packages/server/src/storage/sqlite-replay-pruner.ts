/**
 * sqliteReplayPruner(): the maintenance thread's delete of expired replay rows, one statement prepared once on its own
 * connection. It is the statement TokenRepository.pruneAssertions builds through Kysely, so the thread need not load
 * Kysely (each module a worker loads costs its isolate's resident memory); sqlite-replay-pruner.test.ts holds the two
 * to the same rows.
 */
import type BetterSqlite3 from 'better-sqlite3'

/** Deletes up to `limit` replay rows that expired before `nowMs`; returns how many it deleted. */
export type ReplayPruner = (nowMs: number, limit: number) => number

export function sqliteReplayPruner(database: BetterSqlite3.Database): ReplayPruner {
  const statement = database.prepare(
    'delete from "used_assertions" where ("client_id", "jti") in '
    + '(select "client_id", "jti" from "used_assertions" where "expires_at" < ? limit ?)',
  )
  return (nowMs, limit) => statement.run(nowMs, limit).changes
}
