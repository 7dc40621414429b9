import { afterAll, describe, expect, it } from 'vitest'
import { fixedClock } from '../clock.js'
import { openStorage } from '../storage/open-storage.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../storage/test-database.fixture.js'
import { bootstrapAdmin } from './bootstrap.js'

describe('bootstrapAdmin', () => {
  it('creates one credential on an empty store and none afterwards', async () => {
    const storage = await openStorage({ driver: 'sqlite', sqlitePath: ':memory:' })
    const clock = fixedClock(0)
    expect(await bootstrapAdmin(storage, clock, undefined)).toMatch(/^writ_admin_/)
    expect(await bootstrapAdmin(storage, clock, undefined)).toBeUndefined()
    await storage.close()
  })
})

describe.skipIf(!TEST_DATABASE_URL)(describePostgres(), () => {
  const drops: Array<() => Promise<void>> = []
  afterAll(async () => { for (const drop of drops) await drop() })

  it('lets two replicas bootstrap one empty database at once: exactly one credential, no crash', async () => {
    for (let round = 0; round < 5; round++) {
      const database = await createTestDatabase()
      drops.push(database.drop)
      const [a, b] = await Promise.all([openStorage({ driver: 'postgres', url: database.url }), openStorage({ driver: 'postgres', url: database.url })])
      const results = await Promise.all([bootstrapAdmin(a, fixedClock(0), undefined), bootstrapAdmin(b, fixedClock(0), undefined)])
      expect(results.filter((r) => r !== undefined)).toHaveLength(1)
      await a.close()
      await b.close()
    }
  })
})
