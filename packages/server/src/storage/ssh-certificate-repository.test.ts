import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStorage } from './open-storage.js'
import type { SshCertificateRow } from './ssh-certificate-repository.js'
import type { Storage } from './storage.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from './test-database.fixture.js'

const NOW = 1_800_000_000_000

function row(serial: string, overrides: Partial<SshCertificateRow> = {}): SshCertificateRow {
  return {
    serial, kind: 'user', key_id: `writ:agent=a:task=t:jti=${serial}`, jti: `jti-${serial}`, host_name: 'web-1', iss: 'http://writ.test',
    agent_id: 'agent-1', subject: 'agent-1', task_id: 'T-1', parent: null, act: null, kid: 'kid-1', token_iat: NOW / 1000,
    principals: '["deploy@web-1"]', public_key_fingerprint: 'SHA256:x', valid_after: NOW - 30_000, valid_before: NOW + 300_000, issued_at: NOW,
    ...overrides,
  }
}

function contract(name: string, open: () => Promise<{ storage: Storage; close(): Promise<void> }>) {
  describe(name, () => {
    let s: { storage: Storage; close(): Promise<void> }
    beforeAll(async () => { s = await open() })
    afterAll(() => s.close())

    it('never records two certificates for one jti (the permanent guard behind the replay store\'s spend)', async () => {
      await s.storage.transaction((tx) => tx.sshCertificates.insert([row('11'), row('12', { jti: 'jti-shared' })]))
      await expect(s.storage.transaction((tx) => tx.sshCertificates.insert([row('13'), row('15', { jti: 'jti-shared' })]))).rejects.toThrow()
      // The whole batch rolled back.
      expect(await s.storage.sshCertificates.find('13')).toBeUndefined()
      expect(await s.storage.sshCertificates.find('12')).toBeDefined()
    })

    it('finds the live candidates of each revocation kind and prunes expired rows', async () => {
      await s.storage.sshCertificates.insert([
        row('21', { task_id: 'T-21' }), row('22', { parent: 'grant-22' }), row('23', { kid: 'kid-23' }),
        row('24', { agent_id: 'agent-24', subject: 'agent-24' }), row('25', { act: JSON.stringify({ sub: 'agent-25' }) }),
        row('26', { task_id: 'T-21', valid_before: NOW - 1 }),
      ])
      await s.storage.sshCertificates.insert([row('27', { kind: 'host', jti: null, host_name: 'db-1' })])
      const serials = async (kind: string, value: string) => (await s.storage.sshCertificates.liveCandidates(kind, value, NOW)).map((r) => r.serial)
      expect(await serials('token', 'jti-11')).toEqual(['11'])
      expect(await serials('task', 'T-21')).toEqual(['21'])
      expect(await serials('delegation', 'grant-22')).toEqual(['22'])
      expect(await serials('key', 'kid-23')).toEqual(['23'])
      expect(await serials('agent', 'agent-24')).toEqual(['24'])
      expect(await serials('agent', 'agent-25')).toEqual(['25'])
      expect((await s.storage.sshCertificates.liveForHosts(['db-1'], NOW)).map((r) => r.serial)).toEqual(['27'])
      expect(Number((await s.storage.sshCertificates.find('21'))?.valid_before)).toBe(NOW + 300_000)
      expect(await s.storage.sshCertificates.pruneExpired(NOW, 1_000)).toBe(1)
      expect(await s.storage.sshCertificates.find('26')).toBeUndefined()
    })
  })
}

contract('SshCertificateRepository on sqlite', async () => {
  const storage = await openStorage({ driver: 'sqlite', sqlitePath: ':memory:' })
  return { storage, close: () => storage.close() }
})

describe.skipIf(!TEST_DATABASE_URL)(describePostgres(), () => {
  contract('SshCertificateRepository on postgres', async () => {
    const database = await createTestDatabase()
    const storage = await openStorage({ driver: 'postgres', url: database.url })
    return { storage, async close() { await storage.close(); await database.drop() } }
  })
})
