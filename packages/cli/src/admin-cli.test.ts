import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

interface AdminEntry { id: string; name: string; roles: string[]; last_used_at: string | null; revoked_at: string | null; revoked_by: string | null }

describe('writ admin list and revoke', () => {
  let t: TestServer
  let bootstrapToken: string
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await writ(...args, '--json')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    return JSON.parse(result.stdout) as T
  }
  const list = async () => (await json<{ admins: AdminEntry[] }>('admin', 'list')).admins

  beforeAll(async () => {
    t = await startTestServer()
    bootstrapToken = readFileSync(join(t.dataDir, 'admin-token'), 'utf8').trim()
  })
  afterAll(async () => {
    await t.stop()
    t.remove()
  })

  it('lists the credentials with their roles, creation, last use and revocation', async () => {
    await json('admin', 'create', '--name', 'auditor-1', '--role', 'auditor')
    const admins = await list()
    expect(admins.map((a) => a.name).sort()).toEqual(['auditor-1', 'bootstrap'])
    expect(admins.find((a) => a.name === 'bootstrap')?.last_used_at).toMatch(/^\d{4}-/)
    const table = await writ('admin', 'list')
    expect(table.stdout).toMatch(/^ID\s+NAME\s+ROLES\s+CREATED\s+LAST USED\s+REVOKED$/m)
    expect(table.stdout).toMatch(/auditor-1\s+auditor\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+never\s+-/)
  })

  it('revokes a credential, which is refused at once, and never the last active admin', async () => {
    const bootstrap = (await list()).find((a) => a.name === 'bootstrap') as AdminEntry
    const last = await writ('admin', 'revoke', bootstrap.id)
    expect(last.code).toBe(1)
    expect(last.stderr).toContain('[ADMIN_LAST_ACTIVE]')

    const alice = await json<{ id: string; credential: string }>('admin', 'create', '--name', 'alice', '--role', 'admin')
    const revoked = await writ('admin', 'revoke', bootstrap.id, '--admin-token', alice.credential)
    expect(revoked.code).toBe(0)
    expect(revoked.stdout).toBe(`revoked admin \`bootstrap\` (id ${bootstrap.id}); its credential is refused from now on`)
    // The data directory's admin-token file now holds a revoked credential, and the error says that is the one refused.
    const refused = await writ('agent', 'list')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`the admin credential from \`${join(t.dataDir, 'admin-token')}\` was refused`)
    const entry = (await json<{ admins: AdminEntry[] }>('admin', 'list', '--admin-token', alice.credential)).admins.find((a) => a.id === bootstrap.id)
    expect(entry).toMatchObject({ revoked_by: alice.id })
    expect(entry?.revoked_at).toMatch(/^\d{4}-/)
    const again = await writ('admin', 'revoke', bootstrap.id, '--admin-token', alice.credential, '--json')
    expect(again.stderr).toContain('[ADMIN_REVOKED]')
    const outputs = [revoked.stdout, refused.stderr, again.stderr].join('\n')
    expect(outputs).not.toContain(bootstrapToken)
    expect(outputs).not.toContain(alice.credential)
  })
})
