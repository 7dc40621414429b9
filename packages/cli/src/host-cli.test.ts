import { generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

interface HostView { id: string; name: string; labels: Record<string, string>; status: string; version: number }

function sshLine(): string {
  const x = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x as string, 'base64url')
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b])
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(x)]).toString('base64')}`
}

describe('writ host (control plane)', () => {
  let t: TestServer
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])

  beforeAll(async () => { t = await startTestServer() })
  afterAll(async () => {
    await t.stop()
    t.remove()
  })

  it('creates a join token, and lists, shows, labels and removes the host it enrolled', async () => {
    const created = await writ('host', 'token', 'create', '--labels', 'env=prod,role=web', '--name', 'web-1', '--ttl', '10m')
    expect(created.code).toBe(0)
    const token = created.stdout.trim()
    expect(token).toMatch(/^writ-join-[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$/)
    expect(created.stderr).toContain('env=prod,role=web')
    const { d: _d, ...publicJwk } = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })
    const enrolled = await fetch(`${t.server.app.issuer}/hosts/enroll`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ join_token: token, client_public_key: publicJwk, ssh_host_public_key: sshLine() }),
    })
    expect(enrolled.status).toBe(201)
    expect((await writ('host', 'list')).stdout).toMatch(/web-1 .*env=prod,role=web .*active/)
    const shown = await writ('host', 'show', 'web-1')
    expect(shown.stdout).toContain('urn:writ:host:web-1')
    expect(shown.stdout).toMatch(/history[\s\S]*enroll/)
    const labelled = await writ('host', 'label', 'web-1', 'env=staging', 'role-', '--json')
    expect(JSON.parse(labelled.stdout)).toMatchObject({ labels: { env: 'staging' }, version: 2 })
    const removed = await writ('host', 'remove', 'web-1', '--reason', 'decommissioned')
    expect(removed.stdout).toContain('is removed, version 3')
    const list = JSON.parse((await writ('host', 'list', '--json')).stdout) as { hosts: HostView[] }
    expect(list.hosts).toMatchObject([{ name: 'web-1', status: 'removed' }])
  })

  it('refuses a bad label or duration with the reason', async () => {
    const bad = await writ('host', 'token', 'create', '--labels', 'env')
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('key=value')
    const ttl = await writ('host', 'token', 'create', '--ttl', '3d')
    expect(ttl.code).not.toBe(0)
    expect((await writ('host', 'show', 'nope')).stderr).toContain('nope')
  })
})
