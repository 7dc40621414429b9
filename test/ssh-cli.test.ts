/**
 * `writ ssh cert` and `writ ssh login` against a real Writ server and the real sshd: the agent's own key mints an
 * ssh.login token (policy grants the principal with `@ssh_principals`), a key pair made with node:crypto is exchanged
 * for a certificate, and `ssh` logs in with it, checking the host's certificate against Writ's host CA.
 */
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ASSERTION_TYPE, signClientAssertion } from '@writ/sdk'
import { runWrit, startTestServer, type TestServer } from '../packages/cli/src/test-cli.fixture.js'
import { addUser, removeUser, startSshd, type Sshd } from './sshd.fixture.js'

const USER = `wc${randomBytes(3).toString('hex')}`

describe('writ ssh cert and writ ssh login', () => {
  let t: TestServer
  let sshd: Sshd
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])
  const asAgent = () => ['--agent', 'ssh-bot', '--key', join(t.dataDir, 'agent.jwk')]

  beforeAll(async () => {
    t = await startTestServer()
    addUser(USER)
    const adminToken = readFileSync(join(t.dataDir, 'admin-token'), 'utf8').trim()
    const call = async (base: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
      const text = await response.text()
      if (response.status >= 300) throw new Error(`${path}: ${response.status} ${text}`)
      return JSON.parse(text) as Record<string, unknown>
    }
    const admin = (path: string, body: unknown) => call(t.server.adminUrl, path, body, { authorization: `Bearer ${adminToken}` })
    // The host, enrolled as `writ host enroll` does it.
    const hostKey = join(t.dataDir, 'ssh_host_ed25519_key')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', hostKey])
    const client = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })
    const { d: _d, ...clientPublic } = client
    const join_ = await admin('/v1/hosts/join-tokens', {})
    const enrolled = await call(t.server.publicUrl, '/hosts/enroll', {
      join_token: join_.token, name: 'web-1', client_public_key: clientPublic, ssh_host_public_key: readFileSync(`${hostKey}.pub`, 'utf8').trim(),
    })
    const hostId = enrolled.host_id as string
    const assertion = await signClientAssertion({ privateKey: client, agentId: hostId, audience: t.server.app.issuer })
    const apiToken = (await (await fetch(`${t.server.publicUrl}/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'writ:revocations', client_id: hostId, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion }),
    })).json() as { access_token: string }).access_token
    const hostCertificate = (await call(t.server.publicUrl, '/ssh/host-certificate', { public_key: readFileSync(`${hostKey}.pub`, 'utf8').trim() }, { authorization: `Bearer ${apiToken}` })).certificate as string
    const krl = Buffer.from(await (await fetch(`${t.server.publicUrl}/ssh/krl`, { headers: { authorization: `Bearer ${apiToken}` } })).arrayBuffer())
    const ca = await (await fetch(`${t.server.publicUrl}/ssh/ca`)).json() as { user_ca: string }
    sshd = await startSshd({ dir: t.dataDir, hostName: 'web-1', hostKeyFile: hostKey, hostCertificate, userCa: ca.user_ca, krl })
    // Policy decides the principals; the agent may only narrow them.
    await admin('/v1/policies', {
      files: {
        'default.cedar': '@id("default")\npermit (principal, action, resource);\n',
        'ssh.cedar': `@id("ssh-login")\n@ssh_principals("${USER}")\npermit (principal, action == Writ::Action::"ssh.login", resource);\n`,
      },
    })
    await writ('agent', 'keygen', '--out', join(t.dataDir, 'agent'))
    const publicJwk = JSON.parse(readFileSync(join(t.dataDir, 'agent.pub.jwk'), 'utf8')) as Record<string, unknown>
    await admin('/v1/agents', {
      name: 'ssh-bot', owner: 'ops@example.com', team: 'sre', platform: 'custom',
      capabilities: [{ id: 'ssh.login', risk_level: 'low' }],
      data_access: [{ resource: 'host:web-1', access_type: 'write', sensitivity: 'internal' }],
      jwks: { keys: [publicJwk] },
    })
  }, 60_000)
  afterAll(async () => {
    await sshd?.stop()
    removeUser(USER)
    await t.stop()
    t.remove()
  })

  it('writ ssh cert writes an OpenSSH private key and its certificate, which ssh-keygen reads back', async () => {
    const out = join(t.dataDir, 'cert-key')
    const result = await writ('ssh', 'cert', '--host', 'web-1', '--principal', USER, '--task', 'T-cli', ...asAgent(), '--out', out)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe(`${out}-cert.pub`)
    expect(statSync(out).mode & 0o777).toBe(0o600)
    const listing = execFileSync('ssh-keygen', ['-L', '-f', `${out}-cert.pub`]).toString()
    expect(listing).toContain(`${USER}@web-1`)
    expect(listing).toMatch(/Key ID: "writ:agent=[^:]+:task=T-cli:jti=/)
    // The private key file is OpenSSH's own format, and its public half is the certified key.
    const publicKey = execFileSync('ssh-keygen', ['-y', '-f', out]).toString().split(' ')[1]
    expect(readFileSync(`${out}-cert.pub`, 'utf8')).toMatch(/^ssh-ed25519-cert-v01@openssh.com /)
    expect(execFileSync('ssh-keygen', ['-L', '-f', `${out}-cert.pub`]).toString()).toContain(execFileSync('ssh-keygen', ['-l', '-f', '-'], { input: `ssh-ed25519 ${publicKey}` }).toString().split(' ')[1])
  })

  it('writ ssh login runs a command on the host as the granted user, checking the host certificate', async () => {
    const result = await writ('ssh', 'login', 'web-1', '--address', sshd.address, '--port', String(sshd.port), '--user', USER, ...asAgent(),
      '--task', 'T-cli-login', '--', 'test', '"$(id -un)"', '=', USER)
    expect(result.code, result.stderr).toBe(0)
    expect(sshd.log()).toMatch(new RegExp(`Accepted publickey for ${USER}`))
  })

  it('writ ssh login is refused when policy does not grant the asked-for user (the request may only narrow)', async () => {
    const result = await writ('ssh', 'login', 'web-1', '--address', sshd.address, '--port', String(sshd.port), '--user', 'root', ...asAgent(), '--', 'true')
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/ssh_principal_not_granted|POLICY_DENIED|denied/i)
  })

  it('without --user, writ ssh login logs in as the principal policy granted', async () => {
    const result = await writ('ssh', 'login', 'web-1', '--address', sshd.address, '--port', String(sshd.port), ...asAgent(), '--', 'test', '"$(id -un)"', '=', USER)
    expect(result.code, result.stderr).toBe(0)
  })

  it('writ ssh cert --dpop binds the ssh.login token to a key and proves it at the exchange', async () => {
    const out = join(t.dataDir, 'dpop-key')
    const result = await writ('ssh', 'cert', '--host', 'web-1', '--task', 'T-dpop', ...asAgent(), '--dpop', '--out', out, '--json')
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ principals: [`${USER}@web-1`] })
  })
})
