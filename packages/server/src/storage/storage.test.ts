import { describe } from 'vitest'
import { openStorage } from './open-storage.js'
import { storageContract } from './storage.contract.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from './test-database.fixture.js'

storageContract('sqlite :memory:', async () => {
  const storage = await openStorage({ driver: 'sqlite', sqlitePath: ':memory:' })
  return { storage, dispose: () => storage.close() }
})

describe.skipIf(!TEST_DATABASE_URL)(describePostgres(), () => {
  storageContract('postgres', async () => {
    const database = await createTestDatabase()
    const storage = await openStorage({ driver: 'postgres', url: database.url })
    return { storage, dispose: async () => { await storage.close(); await database.drop() } }
  })
})
