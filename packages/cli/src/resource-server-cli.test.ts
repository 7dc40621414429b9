import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

interface Server { id: string; name: string; audience: string; status: string; version: number; document: { jwks: { keys: Array<{ kid: string }> } } }

describe('writ resource-server', () => {
  let t: TestServer
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await writ(...args, '--json')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    return JSON.parse(result.stdout) as T
  }

  beforeAll(async () => { t = await startTestServer() })
  afterAll(async () => {
    await t.stop()
    t.remove()
  })

  it('registers with a key file, lists, shows, updates and removes, by name or id', async () => {
    const prefix = join(t.dataDir, 'rs')
    expect((await writ('agent', 'keygen', '--out', prefix)).code).toBe(0)
    const created = await json<Server>('resource-server', 'register', '--name', 'billing-api', '--audience', 'https://billing.example.com', '--public-key', `${prefix}.pub.jwk`)
    expect(created).toMatchObject({ name: 'billing-api', audience: 'https://billing.example.com', status: 'active', version: 1 })
    const human = await writ('resource-server', 'list')
    expect(human.stdout).toMatch(/billing-api .*https:\/\/billing\.example\.com .*active/)
    const shown = await writ('resource-server', 'show', 'billing-api')
    expect(shown.stdout).toContain(created.id)
    expect(shown.stdout).toContain(created.document.jwks.keys[0]?.kid)
    expect(shown.stdout).toMatch(/history[\s\S]*register/)
    const updated = await json<Server>('resource-server', 'update', created.id, '--audience', 'https://billing-v2.example.com')
    expect(updated).toMatchObject({ version: 2, audience: 'https://billing-v2.example.com' })
    const removed = await writ('resource-server', 'remove', 'billing-api')
    expect(removed.stdout).toContain('is removed, version 3')
    expect((await json<{ resource_servers: Server[] }>('resource-server', 'list')).resource_servers).toMatchObject([{ status: 'removed' }])
  })

  it('refuses a private key file and Writ\'s own issuer as audience, with the reason', async () => {
    const prefix = join(t.dataDir, 'rs2')
    await writ('agent', 'keygen', '--out', prefix)
    const privateKey = await writ('resource-server', 'register', '--name', 'x-api', '--audience', 'urn:x', '--public-key', `${prefix}.jwk`)
    expect(privateKey.code).not.toBe(0)
    expect(privateKey.stderr).toContain('private key')
    const own = await writ('resource-server', 'register', '--name', 'x-api', '--audience', t.server.app.issuer, '--public-key', `${prefix}.pub.jwk`)
    expect(own.code).not.toBe(0)
    expect(own.stderr).toContain('audience')
    const missing = await writ('resource-server', 'show', 'nope')
    expect(missing.stderr).toContain('does not exist')
  })
})
