import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLES_DIR, runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

const SRE = fileURLToPath(new URL('sre-responder.yaml', EXAMPLES_DIR))
const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/

// One server for the whole story, so the commands run in the order a person would type them.
describe('writ against a running server', () => {
  let t: TestServer
  let adminToken: string
  let agentId: string
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await writ(...args, '--json')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    return JSON.parse(result.stdout) as T
  }
  const outputs: string[] = []
  const track = <T extends { stdout: string; stderr: string }>(result: T): T => {
    outputs.push(result.stdout, result.stderr)
    return result
  }

  beforeAll(async () => {
    t = await startTestServer()
    adminToken = readFileSync(join(t.dataDir, 'admin-token'), 'utf8').trim()
  })
  afterAll(async () => {
    await t.stop()
    t.remove()
  })

  it('agent keygen writes a private key readable only by its owner and a public key named by its thumbprint', async () => {
    const result = track(await writ('agent', 'keygen', '--out', join(t.dataDir, 'sre')))
    expect(result.code).toBe(0)
    expect(statSync(join(t.dataDir, 'sre.jwk')).mode & 0o777).toBe(0o600)
    const publicJwk = JSON.parse(readFileSync(join(t.dataDir, 'sre.pub.jwk'), 'utf8')) as JWK & { d?: string }
    expect(publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
    expect(publicJwk.d).toBeUndefined()
    expect(publicJwk.kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: publicJwk.x as string }))
    expect(result.stdout).toContain(publicJwk.kid)
    expect(result.stdout).not.toContain(JSON.parse(readFileSync(join(t.dataDir, 'sre.jwk'), 'utf8')).d)
    expect((await writ('agent', 'keygen', '--out', join(t.dataDir, 'sre'))).stderr).toContain('--force')
    // The hint names a command that makes the file it then registers, not a file that may not exist.
    expect(result.stdout).toContain('  writ agent init --example deploy-bot > agent.yaml')
  })

  it('the template from agent init registers as it is', async () => {
    const template = join(t.dataDir, 'agent.yaml')
    writeFileSync(template, `${(await writ('agent', 'init')).stdout}\n`)
    const agent = await json<{ name: string; version: number }>('agent', 'register', '--file', template, '--public-key', join(t.dataDir, 'sre.pub.jwk'))
    expect(agent).toMatchObject({ name: 'my-agent', version: 1 })
  })

  it('agent register --json prints the new agent with its id and the key appended to jwks', async () => {
    const agent = await json<{ id: string; name: string; version: number; document: { jwks: { keys: { kid: string }[] } } }>(
      'agent', 'register', '--file', SRE, '--public-key', join(t.dataDir, 'sre.pub.jwk'))
    expect(agent).toMatchObject({ name: 'sre-responder', version: 1, status: 'active' })
    expect(agent.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(agent.document.jwks.keys).toHaveLength(1)
    agentId = agent.id
  })

  it('refuses to send a private key as the public key', async () => {
    const result = await writ('agent', 'register', '--file', SRE, '--public-key', join(t.dataDir, 'sre.jwk'))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('holds a private key')
  })

  it('agent list, show and history print the registry as JSON', async () => {
    const { agents } = await json<{ agents: { id: string }[] }>('agent', 'list')
    expect(agents.map((a) => a.id)).toContain(agentId)
    expect(await json<{ id: string }>('agent', 'show', 'sre-responder')).toMatchObject({ id: agentId })
    const { versions } = await json<{ versions: { version: number; change: { kind: string } }[] }>('agent', 'history', agentId)
    expect(versions).toMatchObject([{ version: 1, change: { kind: 'register' } }])
  })

  it('agent update keeps the registered keys and history names the changed fields', async () => {
    const changed = join(t.dataDir, 'sre-changed.yaml')
    writeFileSync(changed, readFileSync(SRE, 'utf8').replace(/^description: .*$/m, 'description: Triage alerts only.'))
    const result = track(await writ('agent', 'update', 'sre-responder', '--file', changed))
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('version 2; changed: description')
    const agent = await json<{ document: { jwks: { keys: unknown[] } } }>('agent', 'show', agentId)
    expect(agent.document.jwks.keys).toHaveLength(1)
    const { versions } = await json<{ versions: { change: { kind: string; fields: string[] } }[] }>('agent', 'history', agentId)
    expect(versions.at(-1)?.change).toEqual({ kind: 'update', fields: ['description'] })
  })

  it('prints server-supplied values with control characters escaped', async () => {
    const hostile = join(t.dataDir, 'hostile.yaml')
    writeFileSync(hostile, JSON.stringify({
      name: 'hostile-bot', owner: 'x@example.com', team: 't', platform: 'p',
      description: 'fine\r\n2026-01-01 admin.create forged \u001b[2J\u001b[31mred\u202e',
    }))
    expect((await writ('agent', 'register', '--file', hostile)).code).toBe(0)
    for (const args of [['agent', 'show', 'hostile-bot'], ['agent', 'list'], ['audit', 'tail']]) {
      const { stdout } = track(await writ(...args))
      expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/)
    }
    const { stdout } = await writ('agent', 'show', 'hostile-bot')
    expect(stdout).toContain('fine\\r\\n2026-01-01 admin.create forged \\u001b[2J')
  })

  it('token request issues a declared action and decodes it', async () => {
    const key = join(t.dataDir, 'sre.jwk')
    const grant = await json<{ access_token: string; expires_in: number; claims: Record<string, unknown>; header: Record<string, unknown> }>(
      'token', 'request', '--agent', 'sre-responder', '--key', key, '--action', 'alerts.read', '--resource', 'host:web-1',
      '--task', 'T-42', '--step', '3', '--purpose', 'triage', '--decode')
    expect(grant.access_token).toMatch(JWT)
    expect(grant.expires_in).toBe(300)
    expect(grant.header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' })
    expect(grant.claims).toMatchObject({
      sub: agentId, authorization_details: [{ type: 'writ_action', action: 'alerts.read', resource: 'host:web-1' }],
      task: { id: 'T-42', step: '3', purpose: 'triage' },
    })
    const human = await writ('token', 'request', '--agent', agentId, '--key', key, '--action', 'alerts.read', '--resource', 'host:web-2', '--task', 'T-43')
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(JWT)
  })

  it('token request --dpop binds the token to a key from a file, or to one made for the command, and --decode shows cnf', async () => {
    const key = join(t.dataDir, 'sre.jwk')
    expect((await writ('agent', 'keygen', '--out', join(t.dataDir, 'dpop'))).code).toBe(0)
    const bound = await json<{ token_type: string; dpop_jkt: string; claims: Record<string, unknown> }>(
      'token', 'request', '--agent', 'sre-responder', '--key', key, '--action', 'alerts.read', '--resource', 'host:web-4', '--task', 'T-45',
      '--dpop', join(t.dataDir, 'dpop.jwk'), '--decode')
    expect(bound.token_type).toBe('DPoP')
    expect(bound.claims.cnf).toEqual({ jkt: bound.dpop_jkt })
    expect(bound.dpop_jkt).toBe(JSON.parse(readFileSync(join(t.dataDir, 'dpop.jwk'), 'utf8')).kid)
    const ephemeral = await writ('token', 'request', '--agent', 'sre-responder', '--key', key, '--action', 'alerts.read', '--resource', 'host:web-5', '--task', 'T-46', '--dpop')
    expect(ephemeral.code, ephemeral.stderr).toBe(0)
    expect(ephemeral.stderr).toMatch(/bound to the DPoP key [\w-]{43} \(made for this command only/)
  })

  it('token request names the agent by its registered name with only the public API at hand', async () => {
    // An agent has no admin credential: an empty data directory and the public URL alone, as on the agent's own host.
    const result = await runWrit(['--data-dir', join(t.dataDir, 'nothing-here'), '--url', t.server.publicUrl, 'token', 'request',
      '--agent', 'sre-responder', '--key', join(t.dataDir, 'sre.jwk'), '--action', 'alerts.read', '--resource', 'host:web-3', '--task', 'T-44', '--json', '--decode'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ claims: { client_id: agentId, sub: agentId } })
  })

  it('token request reports a denial with its code and reasons and exits 1', async () => {
    const result = await writ('token', 'request', '--agent', agentId, '--key', join(t.dataDir, 'sre.jwk'),
      '--action', 'db.drop', '--resource', 'db:billing', '--task', 'T-42')
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('[POLICY_DENIED]')
    expect(result.stderr).toContain('  - capability_not_declared:db.drop')
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('suspend refuses tokens, resume restores them, retire is final', async () => {
    const request = () => writ('token', 'request', '--agent', agentId, '--key', join(t.dataDir, 'sre.jwk'),
      '--action', 'alerts.read', '--resource', 'host:web-1', '--task', 'T-44')
    expect(await json('agent', 'suspend', 'sre-responder')).toMatchObject({ status: 'suspended' })
    const refused = await request()
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('[AGENT_NOT_ACTIVE]')
    expect(await json('agent', 'resume', agentId)).toMatchObject({ status: 'active' })
    expect((await request()).code).toBe(0)
    const retired = track(await writ('agent', 'retire', agentId))
    expect(retired.stdout).toContain('is now retired')
    const resume = await writ('agent', 'resume', agentId)
    expect(resume.code).toBe(1)
    expect(resume.stderr).toContain('[AGENT_RETIRED]')
    expect((await request()).stderr).toContain('[AGENT_NOT_ACTIVE]')
  })

  it('a missing agent is a clean error naming it', async () => {
    const result = await writ('agent', 'show', 'no-such-agent')
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('error: agent `no-such-agent` does not exist [AGENT_NOT_FOUND]')
  })

  it('audit tail and audit verify read the log through the admin API', async () => {
    const { records } = await json<{ records: { seq: number; type: string }[] }>('audit', 'tail', '-n', '3')
    expect(records).toHaveLength(3)
    const table = track(await writ('audit', 'tail', '-n', '50'))
    expect(table.stdout).toMatch(/token\.issue .* alerts\.read on host:web-1 +allow: policy_permit:/)
    expect(table.stdout).toMatch(/token\.deny .* deny: capability_not_declared:db\.drop/)
    expect(table.stdout).not.toMatch(JWT)
    expect(await json('audit', 'verify')).toMatchObject({ ok: true })
    expect((await writ('audit', 'verify')).stdout).toMatch(/^audit chain OK \(online, /)
  })

  it('audit tail --follow prints new records until stopped', async () => {
    let stop: () => void = () => undefined
    const stopped = new Promise<void>((resolve) => { stop = resolve })
    const following = runWrit(['--data-dir', t.dataDir, 'audit', 'tail', '-n', '1', '--follow', '--interval', '50', '--json'], { untilStopped: () => stopped })
    await new Promise((resolve) => setTimeout(resolve, 100))
    await writ('keys', 'rotate')
    await new Promise((resolve) => setTimeout(resolve, 300))
    stop()
    const result = await following
    expect(result.code).toBe(0)
    const lines = result.stdout.split('\n').map((line) => JSON.parse(line) as { type: string })
    expect(lines.at(-1)?.type).toBe('key.rotate')
  })

  it('keys list and rotate show key ids only', async () => {
    const before = await json<{ current: string }>('keys', 'list')
    const rotated = await json<{ previous: string; current: string; keys: unknown[] }>('keys', 'rotate')
    expect(rotated.previous).toBe(before.current)
    expect(rotated.current).not.toBe(before.current)
    expect(track(await writ('keys', 'list')).stdout).toMatch(/KID\s+ALG\s+CREATED\s+RETIRED\s+CURRENT/)
  })

  it('admin create prints the new credential once, and it works', async () => {
    const created = await json<{ name: string; roles: string[]; credential: string }>('admin', 'create', '--name', 'auditor-1', '--role', 'auditor')
    expect(created.roles).toEqual(['auditor'])
    expect(created.credential).toMatch(/^writ_admin_/)
    const me = await json<{ name: string }>('admin', 'whoami', '--admin-token', created.credential)
    expect(me.name).toBe('auditor-1')
    const forbidden = await writ('keys', 'rotate', '--admin-token', created.credential)
    expect(forbidden.code).toBe(1)
    expect(forbidden.stderr).toContain('[ADMIN_FORBIDDEN]')
    const bad = await writ('admin', 'create', '--name', 'x', '--role', 'Root!')
    expect(bad.code).toBe(2)
  })

  it('never prints the bootstrap admin credential', () => {
    expect(outputs.length).toBeGreaterThan(0)
    for (const text of outputs) expect(text).not.toContain(adminToken)
  })

  it('after the server stops, audit verify works offline and names the first tampered record', async () => {
    await t.stop()
    const unreachable = await writ('agent', 'list')
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toContain(`no running server found in \`${t.dataDir}\``)

    const clean = await writ('audit', 'verify')
    expect(clean.code).toBe(0)
    expect(clean.stdout).toMatch(/^audit chain OK \(offline, /)

    const db = new Database(join(t.dataDir, 'writ.db'))
    const row = db.prepare('select seq, record from audit_events where type = ? order by seq limit 1').get('token.issue') as { seq: number; record: string }
    db.prepare('update audit_events set record = ? where seq = ?').run(row.record.replace('alerts.read', 'alerts.reae'), row.seq)
    db.close()

    const broken = await writ('audit', 'verify', '--offline')
    expect(broken.code).toBe(1)
    expect(broken.stderr).toContain(`the audit chain is broken at seq ${row.seq}: hash does not match the record content`)
    expect(broken.stderr).toContain('[AUDIT_CHAIN_BROKEN]')
    const report = await writ('audit', 'verify', '--offline', '--json')
    expect(report.code).toBe(1)
    expect(JSON.parse(report.stdout)).toMatchObject({ ok: false, firstBad: { seq: row.seq } })
  })

  it('db migrate reports that the stopped database is up to date', async () => {
    const result = await writ('db', 'migrate', '--json')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ applied: [] })
  })
})

describe('writ without a server', () => {
  it('offline verify of a directory without a database says so', async () => {
    const result = await runWrit(['--data-dir', '/nonexistent/writ-data', 'audit', 'verify'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('no database at')
  })

  it('a usage error exits 2', async () => {
    expect((await runWrit(['agent', 'register'])).code).toBe(2)
    expect((await runWrit(['no-such-command'])).code).toBe(2)
  })

  it('an invalid configuration lists every problem under the variable that set it and exits 2', async () => {
    const result = await runWrit(['serve', '--print-config'], { env: { WRIT_SERVER__PORT: 'abc', WRIT_NOT_A_SETTING: '1' } })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('[CONFIG_INVALID]')
    expect(result.stderr).toContain('  - WRIT_SERVER__PORT: expected a number')
    expect(result.stderr).toContain('  - WRIT_NOT_A_SETTING: unknown setting')
  })

  it('serve --print-config redacts secrets', async () => {
    const result = await runWrit(['serve', '--print-config'], { env: { WRIT_STORAGE__URL: 'postgres://u:hunter2@db/writ' } })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('[redacted]')
    expect(result.stdout).not.toContain('hunter2')
  })

  it('writ demo tells the whole story and verifies the chain', async () => {
    const result = await runWrit(['demo'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/issued: Bearer token/)
    expect(result.stdout).toContain('"action": "tests.run"')
    expect(result.stdout).toContain('refused [POLICY_DENIED]')
    expect(result.stdout).toContain('capability_not_declared:db.drop')
    expect(result.stdout).toContain('refused [AGENT_NOT_ACTIVE]')
    expect(result.stdout).toMatch(/audit chain OK \(online\): \d+ records/)
    expect(result.stdout).not.toMatch(JWT)
  })

  it('writ demo --json prints one JSON document with every step and its data, and never the token', async () => {
    const result = await runWrit(['demo', '--json'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const demo = JSON.parse(result.stdout) as { steps: Array<{ step: number; title: string } & Record<string, unknown>> }
    expect(demo.steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(demo.steps[3]).toMatchObject({ issued: { token_type: 'Bearer', claims: { authorization_details: [{ action: 'tests.run' }] } } })
    expect(demo.steps[4]).toMatchObject({ refused: { code: 'POLICY_DENIED', reasons: expect.arrayContaining(['capability_not_declared:db.drop']) } })
    expect(demo.steps[5]).toMatchObject({ agent: { status: 'suspended' }, refused: { code: 'AGENT_NOT_ACTIVE' } })
    expect(demo.steps[7]).toMatchObject({ chain: { ok: true } })
    expect(result.stdout).not.toMatch(JWT)
  })
})
