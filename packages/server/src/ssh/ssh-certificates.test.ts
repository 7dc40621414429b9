import { execFileSync, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSshTestApp, newSshKey, readCertificate, type SshTestApp, type TestHost } from './ssh-test.fixture.js'

describe('POST /ssh/certificates', () => {
  let s: SshTestApp
  let host: TestHost
  beforeAll(async () => {
    s = await createSshTestApp()
    host = await s.addHost('web-1')
  })
  afterAll(() => s.close())

  it('exchanges an ssh.login token once for a certificate whose every field reads back through ssh-keygen -L', async () => {
    const { token, claims } = await s.capability({ parameters: { principals: ['deploy', 'ops'], extensions: ['permit-pty'], force_command: '/usr/bin/uptime', source_address: '127.0.0.1/32,10.0.0.0/8' } })
    const key = newSshKey()
    const response = await s.exchange(token, key.line)
    expect(response.status).toBe(201)
    const body = await response.json() as { certificate: string; serial: string; key_id: string; principals: string[]; valid_after: number; valid_before: number }
    const now = s.t.clock.nowSeconds()
    expect(body).toMatchObject({
      key_id: `writ:agent=${s.agent.agent.id}:task=T-ssh:jti=${claims.jti}`, principals: ['deploy@web-1', 'ops@web-1'],
      valid_after: now - 30, valid_before: Math.min(claims.exp, now + 300),
    })
    const fields = readCertificate(s.dir, body.certificate)
    expect(fields.Type).toBe('ssh-ed25519-cert-v01@openssh.com user certificate')
    expect(fields['Key ID']).toBe(`"${body.key_id}"`)
    expect(fields.Serial).toBe(body.serial)
    expect(fields.Principals).toEqual(['deploy@web-1', 'ops@web-1'])
    expect(fields['Critical Options']).toEqual(['force-command /usr/bin/uptime', 'source-address 127.0.0.1/32,10.0.0.0/8'])
    expect(fields.Extensions).toEqual(['permit-pty'])
    const iso = (s: number) => new Date(s * 1000).toISOString().slice(0, 19)
    expect(fields.Valid).toBe(`from ${iso(body.valid_after)} to ${iso(body.valid_before)}`)
    const ca = await (await s.t.app.publicApp.request('/ssh/ca')).json() as { user_ca: string }
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', '-'], { input: ca.user_ca }).toString().split(' ')[1]
    expect(fields['Signing CA']).toContain(fingerprint)

    const again = await s.exchange(token, newSshKey().line)
    expect(again.status).toBe(401)
    expect(await again.json()).toMatchObject({ code: 'TOKEN_INVALID', reasons: ['token_spent'] })
    const audit = await s.t.storage.audit.records({ limit: 1_000 })
    const issued = audit.filter((r) => r.type === 'ssh_certificate.issue')
    expect(issued.at(-1)).toMatchObject({ actor: { kind: 'agent', id: s.agent.agent.id }, token: { jti: claims.jti }, data: { serial: body.serial, key_id: body.key_id } })
    expect(JSON.stringify(audit)).not.toContain(token)
    expect(audit.filter((r) => r.type === 'ssh_certificate.deny').at(-1)).toMatchObject({ decision: { reasons: ['assertion_replayed'] }, data: { key_id: body.key_id.replace(/:jti=.*/, `:jti=${claims.jti}`) } })
  })

  it('gives exactly one of 20 concurrent exchanges of one token a certificate', async () => {
    const { token } = await s.capability()
    const statuses = await Promise.all(Array.from({ length: 20 }, () => s.exchange(token, newSshKey().line).then((r) => r.status)))
    expect(statuses.filter((x) => x === 201)).toHaveLength(1)
    expect(statuses.filter((x) => x === 401)).toHaveLength(19)
  })

  it('defaults to permit-pty only and never outlives the token', async () => {
    const { token, claims } = await s.capability({ parameters: { principals: ['deploy'] }, lifetime: 60 })
    const body = await (await s.exchange(token, newSshKey().line)).json() as { certificate: string; valid_before: number }
    expect(body.valid_before).toBe(claims.exp)
    expect(readCertificate(s.dir, body.certificate).Extensions).toEqual(['permit-pty'])
  })

  it('publishes both CA keys at GET /ssh/ca', async () => {
    const ca = await (await s.t.app.publicApp.request('/ssh/ca')).json() as Record<string, string>
    expect(ca.user_ca).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ writ-user-ca$/)
    expect(ca.host_ca).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ writ-host-ca$/)
    expect(ca.user_ca.split(' ')[1]).not.toBe(ca.host_ca.split(' ')[1])
  })

  it('issues a host certificate for the registered host key only, with the host name as its one principal', async () => {
    const apiToken = await host.apiToken()
    const post = (publicKey: string, bearer = apiToken) => Promise.resolve(s.t.app.publicApp.request('/ssh/host-certificate', {
      method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify({ public_key: publicKey }),
    }))
    const response = await post(host.hostKey.publicLine)
    expect(response.status).toBe(200)
    const body = await response.json() as { certificate: string; serial: string; valid_before: number }
    const fields = readCertificate(s.dir, body.certificate)
    expect(fields.Type).toBe('ssh-ed25519-cert-v01@openssh.com host certificate')
    expect(fields.Principals).toEqual(['web-1'])
    expect(fields['Critical Options']).toBe('(none)')
    expect(body.valid_before).toBe(s.t.clock.nowSeconds() + 30 * 86_400)
    const other = await post(newSshKey().line)
    expect(other.status).toBe(400)
    expect(await other.json()).toMatchObject({ reasons: ['host_key_mismatch'] })
    expect((await post(host.hostKey.publicLine, 'not-a-token')).status).toBe(401)
    const { token } = await s.capability()
    // A capability token is not the host's API token.
    expect((await post(host.hostKey.publicLine, token)).status).toBe(401)
  })

  it('puts a revoked token\'s certificate into the KRL (serial and key id), which ssh-keygen -Q reports, with an ETag', async () => {
    const apiToken = await host.apiToken()
    const krl = (etag?: string) => Promise.resolve(s.t.app.publicApp.request('/ssh/krl', { headers: { authorization: `Bearer ${apiToken}`, ...(etag ? { 'if-none-match': etag } : {}) } }))
    const { token, claims } = await s.capability({ task: 'T-krl' })
    const { token: other } = await s.capability({ task: 'T-other' })
    const cert = await (await s.exchange(token, newSshKey().line)).json() as { certificate: string; serial: string }
    const kept = await (await s.exchange(other, newSshKey().line)).json() as { certificate: string }
    const before = await krl()
    expect(before.status).toBe(200)
    const etag = before.headers.get('etag') as string
    expect((await krl(etag)).status).toBe(304)
    const revoked = await s.t.admin('POST', '/v1/revocations', { kind: 'token', jti: claims.jti, reason: 'test' })
    expect(revoked.status).toBeLessThan(300)
    const after = await krl(etag)
    expect(after.status).toBe(200)
    expect(after.headers.get('content-type')).toBe('application/octet-stream')
    const file = join(s.dir, 'revoked.krl')
    writeFileSync(file, Buffer.from(await after.arrayBuffer()))
    const query = (line: string) => {
      const certFile = join(s.dir, `q-${Math.random().toString(36).slice(2)}-cert.pub`)
      writeFileSync(certFile, `${line}\n`)
      return spawnSync('ssh-keygen', ['-Q', '-f', file, certFile]).stdout.toString()
    }
    expect(query(cert.certificate)).toContain('REVOKED')
    expect(query(kept.certificate)).toContain(': ok')
    const listing = execFileSync('ssh-keygen', ['-Q', '-l', '-f', file]).toString()
    expect(listing).toContain(`serial: ${cert.serial}`)
    expect(listing).toContain(`id: writ:agent=${s.agent.agent.id}:task=T-krl:jti=${claims.jti}`)
    // The KRL needs a host's API token.
    expect((await s.t.app.publicApp.request('/ssh/krl')).status).toBe(401)
  })

  it('covers the task, a grant of the chain, the token\'s signing key, the agent (kill switch) and a removed host in the KRL', async () => {
    const apiToken = await host.apiToken()
    const second = await s.addHost('db-1')
    const certOf = async (o: Parameters<SshTestApp['capability']>[0]) => {
      const { token } = await s.capability(o)
      return (await (await s.exchange(token, newSshKey().line)).json() as { serial: string }).serial
    }
    const byTask = await certOf({ task: 'T-revoke-task' })
    // A token minted from a delegation grant (its `parent`): revoking the grant covers the certificate.
    const mandate = await (await s.t.admin('POST', '/v1/grants', {
      human: 'alice@example.com', agent: s.agent.agent.id, authorization_details: [{ type: 'writ_action', action: 'ssh.login', resource: 'host:web-1' }], task: { id: 'T-grant' },
    })).json() as { jti: string }
    const byGrant = await certOf({ task: 'T-grant', parent: mandate.jti })
    expect((await s.t.admin('POST', '/v1/revocations', { kind: 'grant', jti: mandate.jti, reason: 'test' })).status).toBeLessThan(300)
    const onDb = await certOf({ resource: 'host:db-1', task: 'T-db' })
    expect((await s.t.admin('POST', '/v1/revocations', { kind: 'task', task_id: 'T-revoke-task', reason: 'test' })).status).toBeLessThan(300)
    await s.removeHost(second.name)
    await s.t.app.sshRevocationList.sweep()
    const bytes = Buffer.from(await (await s.t.app.publicApp.request('/ssh/krl', { headers: { authorization: `Bearer ${apiToken}` } })).arrayBuffer())
    const file = join(s.dir, 'task.krl')
    writeFileSync(file, bytes)
    const listing = execFileSync('ssh-keygen', ['-Q', '-l', '-f', file]).toString()
    expect(listing).toContain(`serial: ${byTask}`)
    expect(listing).toContain(`serial: ${onDb}`)
    expect(listing).toContain(`serial: ${byGrant}`)
    // The signing key of its token: rotate, then revoke the old key.
    const oldKid = s.t.app.keys.current().kid
    const byKey = await certOf({ task: 'T-key' })
    expect((await s.t.admin('POST', '/v1/keys/rotate')).status).toBeLessThan(300)
    expect((await s.t.admin('POST', '/v1/revocations', { kind: 'key', kid: oldKid, reason: 'test' })).status).toBeLessThan(300)
    writeFileSync(file, Buffer.from(await (await s.t.app.publicApp.request('/ssh/krl', { headers: { authorization: `Bearer ${await host.apiToken()}` } })).arrayBuffer()))
    expect(execFileSync('ssh-keygen', ['-Q', '-l', '-f', file]).toString()).toContain(`serial: ${byKey}`)
    // The kill switch, last (it stops this suite's agent): every live certificate of the agent is named.
    const ofAgent = await certOf({ task: 'T-agent' })
    expect(listing).not.toContain(`serial: ${ofAgent}`)
    expect((await s.t.admin('POST', '/v1/revocations', { kind: 'agent', agent_id: s.agent.agent.id, reason: 'test' })).status).toBeLessThan(300)
    writeFileSync(file, Buffer.from(await (await s.t.app.publicApp.request('/ssh/krl', { headers: { authorization: `Bearer ${await host.apiToken()}` } })).arrayBuffer()))
    expect(execFileSync('ssh-keygen', ['-Q', '-l', '-f', file]).toString()).toContain(`serial: ${ofAgent}`)
  })
})
