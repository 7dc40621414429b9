/** Test support: a fresh PostgreSQL database per suite when WRIT_TEST_DATABASE_URL is set, dropped afterwards. */
import { randomBytes } from 'node:crypto'
import pg from 'pg'

export const TEST_DATABASE_URL = process.env.WRIT_TEST_DATABASE_URL

/** Says loudly why PostgreSQL tests are skipped; CI sets the variable, so there they always run. */
export function describePostgres(): string {
  if (TEST_DATABASE_URL) return 'postgres'
  const message = 'WRIT_TEST_DATABASE_URL is not set: PostgreSQL tests are SKIPPED (CI sets it; see .ci/run)'
  if (process.env.CI) throw new Error(`${message}; refusing to skip in CI`)
  process.stderr.write(`\n*** ${message} ***\n`)
  return 'postgres (skipped: WRIT_TEST_DATABASE_URL unset)'
}

export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!TEST_DATABASE_URL) throw new Error('WRIT_TEST_DATABASE_URL is not set')
  const name = `writ_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(TEST_DATABASE_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL })
      await client.connect()
      await client.query(`drop database if exists ${name} with (force)`)
      await client.end()
    },
  }
}
