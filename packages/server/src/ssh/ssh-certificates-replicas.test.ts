/**
 * Two replicas on one PostgreSQL database: a certificate that one replica issues for a token the other has just revoked
 * (before the event reached it) still lands in the KRL of the first, through the sweep that repeats recent events'
 * queries. (The jti spend is the replay store's primary key, shared by replicas like every assertion's.)
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStorage } from '../storage/open-storage.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../storage/test-database.fixture.js'
import { createSshTestApp, newSshKey, type SshTestApp, type TestHost } from './ssh-test.fixture.js'

describe.skipIf(!TEST_DATABASE_URL)(describePostgres(), () => {
  let one: SshTestApp
  let two: SshTestApp
  let host: TestHost
  let drop: () => Promise<void>
  beforeAll(async () => {
    const database = await createTestDatabase()
    drop = database.drop
    // No LISTEN connection and a slow poll: the second replica learns of the first's revocations only when asked to.
    const config = { revocation: { pollIntervalMs: 60_000 } }
    one = await createSshTestApp({ config, storage: await openStorage({ driver: 'postgres', url: database.url }) })
    two = await createSshTestApp({ config, storage: await openStorage({ driver: 'postgres', url: database.url }), agent: one.agent })
    host = await one.addHost('web-1')
    await two.t.app.hosts.refresh()
  })
  afterAll(async () => {
    await one?.close()
    await two?.close()
    await drop?.()
  })

  it('puts into the KRL a certificate another replica issued for a token revoked a moment before', async () => {
    // Signed by the second replica's key (test apps keep ephemeral keys; real replicas share one keyset).
    const { token, claims } = await two.capability({ task: 'T-race' })
    expect((await one.t.admin('POST', '/v1/revocations', { kind: 'token', jti: claims.jti, reason: 'race' })).status).toBeLessThan(300)
    await one.t.app.revocationFeed.catchUp()
    // The second replica has not heard of it yet: it issues.
    const issued = await two.exchange(token, newSshKey().line)
    expect(issued.status).toBe(201)
    const { serial } = await issued.json() as { serial: string }
    await one.t.app.sshRevocationList.sweep()
    const krl = await one.t.app.publicApp.request('/ssh/krl', { headers: { authorization: `Bearer ${await host.apiToken()}` } })
    const file = join(one.dir, 'race.krl')
    writeFileSync(file, Buffer.from(await krl.arrayBuffer()))
    expect(execFileSync('ssh-keygen', ['-Q', '-l', '-f', file]).toString()).toContain(`serial: ${serial}`)
  })
})
