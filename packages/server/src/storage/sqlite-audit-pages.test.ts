import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { verifyChain } from '../audit/verify-chain.js'
import { openSqliteDatabase } from './open-sqlite-database.js'
import { openStorage } from './open-storage.js'
import { sqliteAuditPages } from './sqlite-audit-pages.js'

const dirs: string[] = []
afterEach(() => { for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true }) })

describe('sqliteAuditPages', () => {
  it('reads the same head and pages as AuditRepository, so verifyChain reports alike through either', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'writ-audit-pages-'))
    dirs.push(dir)
    const path = join(dir, 'writ.db')
    const storage = await openStorage({ driver: 'sqlite', sqlitePath: path })
    for (let i = 0; i < 25; i++) {
      await storage.transaction((tx) => tx.audit.append([{ type: 'test.event', actor: { kind: 'system', id: `s${i}` }, data: { i } }], 1_000 + i))
    }
    const database = openSqliteDatabase(path)
    try {
      const pages = sqliteAuditPages(database)
      expect(await pages.head()).toEqual(await storage.audit.head())
      for (const [after, limit] of [[0, 7], [7, 7], [20, 100], [25, 10]] as const) {
        expect(await pages.page(after, limit)).toEqual(await storage.audit.page(after, limit))
      }
      expect(await verifyChain(pages, { pageSize: 4 })).toEqual(await verifyChain(storage.audit, { pageSize: 4 }))
      database.prepare('update audit_events set record = replace(record, \'"s9"\', \'"sX"\') where seq = 10').run()
      const broken = await verifyChain(pages, { pageSize: 4 })
      expect(broken).toMatchObject({ ok: false, firstBad: { seq: 10 } })
      expect(broken).toEqual(await verifyChain(storage.audit, { pageSize: 4 }))
    } finally {
      database.close()
      await storage.close()
    }
  })
})
