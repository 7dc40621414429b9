import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLES_DIR, runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

const DEPLOY_BOT = fileURLToPath(new URL('deploy-bot.yaml', EXAMPLES_DIR))

describe('writ revoke and writ agent kill', () => {
  let t: TestServer
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])
  const asBot = () => ['--agent', 'deploy-bot', '--key', join(t.dataDir, 'deploy.jwk')]

  beforeAll(async () => {
    t = await startTestServer()
    await writ('agent', 'keygen', '--out', join(t.dataDir, 'deploy'))
    expect((await writ('agent', 'register', '--file', DEPLOY_BOT, '--public-key', join(t.dataDir, 'deploy.pub.jwk'))).code).toBe(0)
  })
  afterAll(async () => {
    await t.stop()
    t.remove()
  })

  it('revokes a token by jti, a task (nothing more is minted for it), a grant and a signing key', async () => {
    const requested = await writ('token', 'request', ...asBot(), '--action', 'tests.run', '--resource', 'repo:acme/billing', '--access', 'read', '--task', 'T-1', '--json')
    expect(requested.code, requested.stderr).toBe(0)
    const minted = JSON.parse(requested.stdout) as { access_token: string }
    const jti = JSON.parse(Buffer.from(minted.access_token.split('.')[1] as string, 'base64url').toString()).jti as string
    const token = await writ('revoke', 'token', jti, '--reason', 'leaked in a log')
    expect(token.code).toBe(0)
    expect(token.stdout).toMatch(new RegExp(`^revoked token ${jti} \\(revocation \\S+\\); a token of agent \\S+\\nverifiers learn of it through event 1; kept until \\d{4}-`))

    expect((await writ('revoke', 'task', 'T-1', '--reason', 'runaway plan')).code).toBe(0)
    const refused = await writ('token', 'request', ...asBot(), '--action', 'tests.run', '--resource', 'repo:acme/billing', '--access', 'read', '--task', 'T-1')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('[TASK_REVOKED]')

    const mandate = JSON.parse((await writ('mandate', 'grant', '--human', 'alice@example.com', '--agent', 'deploy-bot', '--action', 'tests.run', '--resource', 'repo:acme/*', '--task', 'T-2', '--json')).stdout) as { jti: string }
    const grant = JSON.parse((await writ('revoke', 'grant', mandate.jti, '--reason', 'alice left', '--json')).stdout) as { revocation: { kind: string }; events: Array<{ kind: string; jti: string }> }
    expect(grant).toMatchObject({ revocation: { kind: 'grant' }, events: [{ kind: 'delegation', jti: mandate.jti }] })

    const keys = JSON.parse((await writ('keys', 'list', '--json')).stdout) as { current: string }
    // A key id is base64url and one in 64 starts with `-`, which the CLI reads as an option unless it follows `--`.
    const key = await writ('revoke', 'key', '--reason', 'key file copied', '--', keys.current)
    expect(key.code).toBe(0)
    expect(key.stdout).toContain('it was the current key;')
    expect((JSON.parse((await writ('keys', 'list', '--json')).stdout) as { current: string }).current).not.toBe(keys.current)

    const list = await writ('revoke', 'list')
    expect(list.stdout).toMatch(/^ID\s+KIND\s+TARGET\s+BY\s+AT\s+REASON$/m)
    expect(list.stdout).toContain('runaway plan')
    expect(list.stdout).not.toContain(minted.access_token)
  })

  it('kills an agent: suspended at once, its next token request refused; a reason is required', async () => {
    const missing = await writ('agent', 'kill', 'deploy-bot')
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--reason')
    const killed = await writ('agent', 'kill', 'deploy-bot', '--reason', 'prompt injection suspected')
    expect(killed.code).toBe(0)
    expect(killed.stdout).toMatch(/^revoked agent \S+ \(revocation \S+\); agent suspended, 0 grant\(s\) revoked$/m)
    expect((await writ('agent', 'show', 'deploy-bot')).stdout).toMatch(/suspended/)
    const refused = await writ('token', 'request', ...asBot(), '--action', 'tests.run', '--resource', 'repo:acme/billing', '--access', 'read', '--task', 'T-3')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('[AGENT_NOT_ACTIVE]')
    const again = await writ('revoke', 'agent', 'deploy-bot', '--reason', 'again', '--json')
    expect(JSON.parse(again.stdout)).toMatchObject({ revocation: { kind: 'agent', covers: { suspended: false, status_before: 'suspended' } } })
  })
})
