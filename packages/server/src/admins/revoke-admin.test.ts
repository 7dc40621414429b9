import { describe, expect, it } from 'vitest'
import { WritError } from '@writ/sdk'
import { fixedClock } from '../clock.js'
import { openStorage } from '../storage/open-storage.js'
import type { Storage } from '../storage/storage.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../storage/test-database.fixture.js'
import { authenticateAdmin, createAdmin } from './admin-credentials.js'
import { revokeAdmin } from './revoke-admin.js'

type Engine = { name: string; open: () => Promise<{ storage: Storage; dispose(): Promise<void> }> }
const engines: Engine[] = [{ name: 'sqlite', open: async () => { const storage = await openStorage({ driver: 'sqlite', sqlitePath: ':memory:' }); return { storage, dispose: () => storage.close() } } }]
if (TEST_DATABASE_URL) {
  engines.push({ name: 'postgres', open: async () => {
    const database = await createTestDatabase()
    const storage = await openStorage({ driver: 'postgres', url: database.url })
    return { storage, dispose: async () => { await storage.close(); await database.drop() } }
  } })
} else describePostgres()

describe.each(engines)('revokeAdmin on $name', (engine) => {
  const clock = fixedClock(Date.UTC(2026, 10, 24))

  it('lets exactly one of two admins revoking each other at once succeed, so one admin always remains', async () => {
    for (let round = 0; round < 5; round++) {
      const { storage, dispose } = await engine.open()
      const a = await createAdmin('a', ['admin'], 'system', storage, clock)
      const b = await createAdmin('b', ['admin'], 'system', storage, clock)
      const outcomes = await Promise.allSettled([revokeAdmin(b.admin.id, a.admin, storage, clock), revokeAdmin(a.admin.id, b.admin, storage, clock)])
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
      const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult
      expect(refused.reason).toBeInstanceOf(WritError)
      expect((refused.reason as WritError).code).toBe('ADMIN_LAST_ACTIVE')
      const active = await Promise.all([a, b].map((x) => authenticateAdmin(x.credential, storage, clock)))
      expect(active.filter((x) => x !== undefined)).toHaveLength(1)
      await dispose()
    }
  })
})
