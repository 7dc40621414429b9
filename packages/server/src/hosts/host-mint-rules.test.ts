import { decodeJwt } from 'jose'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTestApp, exampleDocument, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { enrollTestHost } from './host-test.fixture.js'

const SSH_POLICIES = {
  'hosts.cedar': [
    '@id("sre-staging-ssh")',
    '@ssh_principals("deploy ops")',
    '@ssh_source_address("10.0.0.0/8,127.0.0.1")',
    'permit (principal, action == Writ::Action::"ssh.login", resource)',
    '  when { principal.team == "sre" && context has target_host && context.target_host.labels.contains("env=staging") };',
    '@id("sudo")',
    'permit (principal, action == Writ::Action::"sudo.exec", resource);',
    '',
  ].join('\n'),
}

describe('mint rules for ssh.login and sudo.exec on host:<name>', () => {
  let t: TestApp
  let sre: TestAgent
  beforeEach(async () => {
    t = await createTestApp({ config: { tokens: { ttlSeconds: 900 } } })
    sre = await t.register({ ...exampleDocument('sre-responder'), human_oversight: { required_for: [], approvers: [] } })
    await enrollTestHost(t, 'web-1', { env: 'staging' })
    await enrollTestHost(t, 'web-2', { env: 'prod' })
    const pushed = await t.admin('POST', '/v1/policies', { files: SSH_POLICIES })
    if (pushed.status !== 201) throw new Error(await pushed.text())
  })
  afterEach(async () => t.close())

  const send = async (action: string, resource: string, parameters?: unknown, extra: Record<string, string> = {}) => {
    const response = await t.token({
      grant_type: 'client_credentials', client_id: sre.agent.id, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await sre.assertion(), task_id: 'T-1',
      authorization_details: JSON.stringify([{ type: 'writ_action', action, resource, ...(parameters === undefined ? {} : { parameters }) }]),
      ...extra,
    })
    return { status: response.status, body: await response.json() as Record<string, unknown> }
  }

  it('sudo.exec: aud is the host, exact argv in the token and in the token.issue record, lifetime ≤ 300 s', async () => {
    const argv = ['systemctl', 'restart', 'nginx; rm -rf /']
    const { status, body } = await send('sudo.exec', 'host:web-1', { runas: 'root', argv })
    expect(status).toBe(200)
    const claims = decodeJwt(body.access_token as string)
    expect(claims.aud).toBe('urn:writ:host:web-1')
    expect((claims.exp as number) - (claims.iat as number)).toBe(300)
    expect(claims.authorization_details).toEqual([{ type: 'writ_action', action: 'sudo.exec', resource: 'host:web-1', parameters: { runas: 'root', argv } }])
    const issue = (await t.storage.audit.tail(1))[0]
    expect(issue).toMatchObject({ type: 'token.issue', data: { aud: 'urn:writ:host:web-1', policy_context: { parameters: { runas: 'root', argv } } } })
    // Naming the host's audience with `resource` is allowed too.
    expect((await send('sudo.exec', 'host:web-1', { runas: 'root', argv: ['true'] }, { resource: 'urn:writ:host:web-1' })).status).toBe(200)
  })

  it('ssh.login: principals and options from the determining permit, lifetime ≤ 900 s; staging allowed, prod denied', async () => {
    const { status, body } = await send('ssh.login', 'host:web-1')
    expect(status).toBe(200)
    const claims = decodeJwt(body.access_token as string)
    expect(claims.aud).toBe('urn:writ:host:web-1')
    expect((claims.exp as number) - (claims.iat as number)).toBe(900)
    expect(claims.authorization_details).toEqual([{
      type: 'writ_action', action: 'ssh.login', resource: 'host:web-1',
      parameters: { principals: ['deploy', 'ops'], source_address: '10.0.0.0/8,127.0.0.1', extensions: ['permit-pty'] },
    }])
    const narrowed = await send('ssh.login', 'host:web-1', { principals: ['deploy'] })
    expect((decodeJwt(narrowed.body.access_token as string).authorization_details as Array<{ parameters: unknown }>)[0]?.parameters).toMatchObject({ principals: ['deploy'] })
    const prod = await send('ssh.login', 'host:web-2')
    expect(prod.status).toBe(403)
    expect(prod.body).toMatchObject({ writ_code: 'POLICY_DENIED' })
  })

  const hostile: Array<[string, string, string, unknown, Record<string, string>, number, string]> = [
    ['argv with a NUL', 'sudo.exec', 'host:web-1', { runas: 'root', argv: ['echo', 'a\u0000b'] }, {}, 400, 'AUTHORIZATION_DETAILS_INVALID'],
    ['non-string argv', 'sudo.exec', 'host:web-1', { runas: 'root', argv: ['kill', 9] }, {}, 400, 'AUTHORIZATION_DETAILS_INVALID'],
    ['empty argv', 'sudo.exec', 'host:web-1', { runas: 'root', argv: [] }, {}, 400, 'AUTHORIZATION_DETAILS_INVALID'],
    ['argv as a string', 'sudo.exec', 'host:web-1', { runas: 'root', argv: 'systemctl restart nginx' }, {}, 400, 'AUTHORIZATION_DETAILS_INVALID'],
    ['missing runas', 'sudo.exec', 'host:web-1', { argv: ['true'] }, {}, 400, 'AUTHORIZATION_DETAILS_INVALID'],
    ['a bad runas', 'sudo.exec', 'host:web-1', { runas: 'root;id', argv: ['true'] }, {}, 400, 'AUTHORIZATION_DETAILS_INVALID'],
    ['no parameters', 'sudo.exec', 'host:web-1', undefined, {}, 400, 'AUTHORIZATION_DETAILS_INVALID'],
    ['an extra parameter', 'sudo.exec', 'host:web-1', { runas: 'root', argv: ['true'], env: 'X=1' }, {}, 400, 'AUTHORIZATION_DETAILS_INVALID'],
    ['an oversized argv', 'sudo.exec', 'host:web-1', { runas: 'root', argv: ['echo', 'x'.repeat(2_100)] }, {}, 400, 'AUTHORIZATION_DETAILS_INVALID'],
    ['a resource naming another audience', 'sudo.exec', 'host:web-1', { runas: 'root', argv: ['true'] }, { resource: 'urn:writ:host:web-2' }, 400, 'TARGET_INVALID'],
    ['the fallback audience named', 'sudo.exec', 'host:web-1', { runas: 'root', argv: ['true'] }, { resource: 'https://api.writ.local' }, 400, 'TARGET_INVALID'],
    ['a host audience for another action', 'alerts.read', 'host:web-1', undefined, { resource: 'urn:writ:host:web-1' }, 400, 'TARGET_INVALID'],
    ['an unenrolled host', 'sudo.exec', 'host:web-9', { runas: 'root', argv: ['true'] }, {}, 404, 'HOST_NOT_FOUND'],
    ['a resource that is not host:<name>', 'ssh.login', 'server:web-1', undefined, {}, 400, 'AUTHORIZATION_DETAILS_INVALID'],
    ['ssh.login asking for a principal policy did not grant', 'ssh.login', 'host:web-1', { principals: ['root'] }, {}, 403, 'POLICY_DENIED'],
    ['ssh.login asking for a force command', 'ssh.login', 'host:web-1', { force_command: '/bin/sh' }, {}, 400, 'AUTHORIZATION_DETAILS_INVALID'],
  ]
  for (const [name, action, resource, parameters, extra, status, code] of hostile) {
    it(`refuses ${name}`, async () => {
      const { status: got, body } = await send(action, resource, parameters, extra)
      expect(got).toBe(status)
      expect(body).toMatchObject({ writ_code: code })
    })
  }

  it('refuses ssh.login when no determining permit carries @ssh_principals', async () => {
    await t.admin('POST', '/v1/policies', { files: { 'all.cedar': '@id("all")\npermit (principal, action, resource);\n' } })
    const { status, body } = await send('ssh.login', 'host:web-1')
    expect(status).toBe(403)
    expect(body).toMatchObject({ writ_code: 'POLICY_DENIED' })
    expect((await t.storage.audit.tail(1))[0]).toMatchObject({ type: 'token.deny', decision: { reasons: ['policy_permit:all', 'ssh_principals_none'] } })
  })

  it('refuses a removed host', async () => {
    expect((await t.admin('DELETE', '/v1/hosts/web-1', { reason: 'gone' })).status).toBe(200)
    const { status, body } = await send('sudo.exec', 'host:web-1', { runas: 'root', argv: ['true'] })
    expect(status).toBe(404)
    expect(body).toMatchObject({ writ_code: 'HOST_NOT_FOUND' })
  })

  it('a bad @ssh_* annotation stops the policy load with a clear error', async () => {
    for (const bad of ['@ssh_principals("root;id")', '@ssh_principals("deploy") @ssh_source_address("10.0.0.0/33")', '@ssh_source_address("10.0.0.0/8")', '@ssh_principals("deploy") @ssh_extensions("permit-everything")']) {
      const response = await t.admin('POST', '/v1/policies', { files: { 'x.cedar': `@id("x") ${bad}\npermit (principal, action, resource);\n` } })
      expect(response.status).toBe(400)
      expect(JSON.stringify(await response.json())).toMatch(/ssh_/)
    }
  })

  it('held for a human: approvers see the exact argv; redemption issues ssh.login with the parameters policy decides then', async () => {
    const held = await t.register({ ...exampleDocument('sre-responder'), name: 'sre-held', human_oversight: { required_for: ['sudo.exec', 'ssh.login'], approvers: ['oncall@example.com'] } })
    const oncall = (await (await t.admin('POST', '/v1/admins', { name: 'oncall@example.com', roles: ['approver'] })).json() as { credential: string }).credential
    const as = (path: string) => Promise.resolve(t.app.adminApp.request(path, { method: 'POST', headers: { authorization: `Bearer ${oncall}`, 'content-type': 'application/json' }, body: '{}' }))
    const ask = async (action: string, parameters?: unknown) => {
      const response = await t.token({
        grant_type: 'client_credentials', client_id: held.agent.id, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await held.assertion(), task_id: 'T-2',
        authorization_details: JSON.stringify([{ type: 'writ_action', action, resource: 'host:web-1', ...(parameters ? { parameters } : {}) }]),
      })
      expect(response.status).toBe(400)
      return ((await response.json()) as { auth_req_id: string }).auth_req_id
    }
    const redeem = async (authReqId: string) => {
      expect((await as(`/v1/approvals/${authReqId}/approve`)).status).toBe(200)
      t.clock.advance(5_000)
      const response = await t.token({
        grant_type: 'urn:openid:params:grant-type:ciba', client_id: held.agent.id, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await held.assertion(), auth_req_id: authReqId,
      })
      expect(response.status).toBe(200)
      return decodeJwt(((await response.json()) as { access_token: string }).access_token)
    }
    const argv = ['systemctl', 'restart', 'nginx']
    const sudoId = await ask('sudo.exec', { runas: 'root', argv })
    const view = await (await t.admin('GET', `/v1/approvals/${sudoId}`)).json()
    expect(JSON.stringify(view)).toContain(JSON.stringify(argv))
    const sudo = await redeem(sudoId)
    expect(sudo).toMatchObject({ aud: 'urn:writ:host:web-1', authorization_details: [{ parameters: { runas: 'root', argv } }] })
    expect((sudo.exp as number) - (sudo.iat as number)).toBe(300)
    const ssh = await redeem(await ask('ssh.login'))
    expect(ssh).toMatchObject({ aud: 'urn:writ:host:web-1', authorization_details: [{ parameters: { principals: ['deploy', 'ops'], extensions: ['permit-pty'] } }] })
  })
})
