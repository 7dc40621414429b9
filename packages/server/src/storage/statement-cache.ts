/** A better-sqlite3 database whose prepare() reuses statements: Kysely prepares every query it runs, from its SQL text. */
import type BetterSqlite3 from 'better-sqlite3'
import type { SqliteDatabase, SqliteStatement } from 'kysely'

// The hot queries are few (the group commit's, and multi-row inserts for each batch size seen); bounded all the same.
const MAX_STATEMENTS = 512

export function cachingDatabase(database: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>()
  return {
    close: () => database.close(),
    prepare(sql: string): SqliteStatement {
      const cached = statements.get(sql)
      // A statement still being iterated (a streamed query) cannot run again until it finishes: prepare another.
      if (cached !== undefined && !cached.busy) return cached
      const statement = database.prepare(sql)
      if (cached === undefined) {
        if (statements.size >= MAX_STATEMENTS) statements.delete(statements.keys().next().value as string)
        statements.set(sql, statement)
      }
      return statement
    },
  }
}
