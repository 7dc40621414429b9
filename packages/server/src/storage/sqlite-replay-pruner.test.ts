import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openSqliteDatabase } from './open-sqlite-database.js'
import { openStorage } from './open-storage.js'
import { sqliteReplayPruner } from './sqlite-replay-pruner.js'

const NOW = Date.UTC(2026, 11, 1, 12)
const dirs: string[] = []
afterEach(() => { for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true }) })

/** Two migrated files holding the same replay rows: half expired, in an order unrelated to their expiry. */
async function twoFiles(): Promise<[string, string]> {
  const rows = Array.from({ length: 700 }, (_, i) => ({
    client_id: `agt_${i % 3}`, jti: `jti_${(i * 7919) % 700}`, expires_at: NOW + ((i * 31) % 100 - 50) * 1_000,
  }))
  const paths: string[] = []
  for (const name of ['kysely', 'pruner']) {
    const dir = mkdtempSync(join(tmpdir(), 'writ-replay-pruner-'))
    dirs.push(dir)
    const path = join(dir, `${name}.db`)
    const storage = await openStorage({ driver: 'sqlite', sqlitePath: path })
    await storage.tokens.useAssertions(rows)
    await storage.close()
    paths.push(path)
  }
  return paths as [string, string]
}

const remaining = (path: string): unknown[] => {
  const database = openSqliteDatabase(path)
  try {
    return database.prepare('select client_id, jti, expires_at from used_assertions order by client_id, jti').all()
  } finally {
    database.close()
  }
}

describe('sqliteReplayPruner', () => {
  it('deletes, chunk by chunk, exactly the rows TokenRepository.pruneAssertions deletes', async () => {
    const [viaKysely, viaPruner] = await twoFiles()
    const storage = await openStorage({ driver: 'sqlite', sqlitePath: viaKysely, migrate: false })
    const database = openSqliteDatabase(viaPruner)
    const prune = sqliteReplayPruner(database)
    const counts: Array<[number, number]> = []
    try {
      for (let chunk = 0; chunk < 5; chunk++) {
        counts.push([await storage.tokens.pruneAssertions(NOW, 100), prune(NOW, 100)])
        expect(remaining(viaPruner)).toEqual(remaining(viaKysely))
      }
    } finally {
      database.close()
      await storage.close()
    }
    // 350 of the 700 rows expired before NOW: three full chunks, then the rest, then nothing is left to delete.
    expect(counts).toEqual([[100, 100], [100, 100], [100, 100], [50, 50], [0, 0]])
    const left = remaining(viaPruner) as Array<{ expires_at: number }>
    expect(left).toHaveLength(350)
    expect(left.every((r) => r.expires_at >= NOW)).toBe(true)
  })
})
