import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLES_DIR, runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

const DEPLOY_BOT = fileURLToPath(new URL('deploy-bot.yaml', EXAMPLES_DIR))
const JWT = /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/

describe('writ mandate', () => {
  let t: TestServer
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])

  beforeAll(async () => {
    t = await startTestServer()
    await writ('agent', 'keygen', '--out', join(t.dataDir, 'deploy'))
    expect((await writ('agent', 'register', '--file', DEPLOY_BOT, '--public-key', join(t.dataDir, 'deploy.pub.jwk'))).code).toBe(0)
    // A sub-agent: the same document under another name and key.
    writeFileSync(join(t.dataDir, 'sub-bot.yaml'), readFileSync(DEPLOY_BOT, 'utf8').replace(/^name: deploy-bot$/m, 'name: sub-bot'))
    await writ('agent', 'keygen', '--out', join(t.dataDir, 'sub'))
    expect((await writ('agent', 'register', '--file', join(t.dataDir, 'sub-bot.yaml'), '--public-key', join(t.dataDir, 'sub.pub.jwk'))).code).toBe(0)
  })
  afterAll(async () => {
    await t.stop()
    t.remove()
  })

  it('grants, lists, shows and revokes a mandate; the grant is printed once', async () => {
    const granted = await writ('mandate', 'grant', '--human', 'alice@example.com', '--agent', 'deploy-bot', '--action', 'deploy.run', '--resource', 'service:*', '--task', 'T-9', '--until', '2h')
    expect(granted.code).toBe(0)
    const lines = granted.stdout.split('\n')
    expect(lines[0]).toMatch(/^mandate \S+: alice@example.com → agent \S+, task T-9, until \d{4}-/)
    expect(lines[1]).toBe('grant (shown once; give it to the agent as its subject_token):')
    const grant = (lines[2] ?? '').trim()
    expect(grant).toMatch(JWT)
    const jti = (lines[0] ?? '').split(' ')[1]?.replace(':', '') as string

    const json = JSON.parse((await writ('mandate', 'grant', '--human', 'bob@example.com', '--agent', 'deploy-bot', '--action', 'tests.run', '--resource', 'repo:acme/*', '--task', 'T-10', '--json')).stdout) as { grant: string; subject: string; depth: number }
    expect(json).toMatchObject({ subject: 'bob@example.com', depth: 1 })
    expect(json.grant).toMatch(JWT)

    const toFile = await writ('mandate', 'grant', '--human', 'dan@example.com', '--agent', 'deploy-bot', '--action', 'tests.run', '--resource', 'repo:acme/*', '--task', 'T-13', '--out', join(t.dataDir, 'dan.jwt'))
    expect(toFile.stdout).toContain(`grant written to ${join(t.dataDir, 'dan.jwt')} (0600)`)
    expect(toFile.stdout).not.toMatch(JWT)
    expect(readFileSync(join(t.dataDir, 'dan.jwt'), 'utf8').trim()).toMatch(JWT)
    expect(statSync(join(t.dataDir, 'dan.jwt')).mode & 0o777).toBe(0o600)

    const list = await writ('mandate', 'list')
    expect(list.stdout).toMatch(/^JTI\s+KIND\s+HUMAN\s+AGENT\s+DEPTH\s+TASK\s+ACTIONS\s+EXPIRES\s+REVOKED$/m)
    expect(list.stdout).toContain('deploy.run@service:*')
    expect(list.stdout).not.toContain(grant)
    const listed = JSON.parse((await writ('mandate', 'list', '--human', 'alice@example.com', '--json')).stdout) as { grants: Array<{ jti: string }> }
    expect(listed.grants.map((g) => g.jti)).toEqual([jti])

    const shown = await writ('mandate', 'show', jti)
    expect(shown.stdout).toMatch(/^human\s+alice@example.com$/m)
    expect(shown.stdout).toContain('(nothing derived from it)')

    const revoked = await writ('mandate', 'revoke', jti)
    expect(revoked.code).toBe(0)
    expect(revoked.stdout).toContain(`revoked grant ${jti}`)
    const again = await writ('mandate', 'revoke', jti)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('[GRANT_REVOKED]')
    const bad = await writ('mandate', 'grant', '--human', 'a@example.com', '--agent', 'deploy-bot', '--action', 'deploy.run', '--resource', 'service:*', '--task', 'T', '--until', 'soon')
    expect(bad.code).toBe(2)
  })

  it('token exchange: a mandate narrowed for a sub-agent, then its capability, with --decode showing sub and the act chain', async () => {
    const granted = JSON.parse((await writ('mandate', 'grant', '--human', 'carol@example.com', '--agent', 'deploy-bot', '--action', 'tests.run', '--resource', 'repo:acme/*', '--task', 'T-12', '--json')).stdout) as { grant: string }
    writeFileSync(join(t.dataDir, 'mandate.jwt'), `${granted.grant}\n`)
    const asDeployBot = ['--agent', 'deploy-bot', '--key', join(t.dataDir, 'deploy.jwk')]

    const delegated = await writ('token', 'exchange', ...asDeployBot, '--subject-token-file', join(t.dataDir, 'mandate.jwt'), '--to', 'sub-bot', '--action', 'tests.run', '--resource', 'repo:acme/billing', '--decode')
    expect(delegated.code).toBe(0)
    expect(delegated.stderr).toMatch(/^issued: a delegation grant for agent \S+; expires in \d+ s/)
    const [grant, ...summary] = delegated.stdout.split('\n')
    expect(grant).toMatch(JWT)
    expect(summary.join('\n')).toMatch(/^sub\s+carol@example.com$/m)
    expect(summary.join('\n')).toMatch(/^act\s+[0-9a-f-]{36}$/m)
    writeFileSync(join(t.dataDir, 'sub.jwt'), grant as string)

    const capability = await writ('token', 'exchange', '--agent', 'sub-bot', '--key', join(t.dataDir, 'sub.jwk'), '--subject-token-file', join(t.dataDir, 'sub.jwt'), '--action', 'tests.run', '--resource', 'repo:acme/billing', '--access', 'read', '--decode')
    expect(capability.code).toBe(0)
    expect(capability.stdout).toMatch(/^sub\s+carol@example.com$/m)
    expect(capability.stdout).toMatch(/^act\s+[0-9a-f-]{36} ← [0-9a-f-]{36}$/m)
    expect(capability.stdout).toMatch(/^cnf\s+- \(bearer\)$/m)

    const json = JSON.parse((await writ('token', 'exchange', '--agent', 'sub-bot', '--key', join(t.dataDir, 'sub.jwk'), '--subject-token-file', join(t.dataDir, 'sub.jwt'), '--action', 'tests.run', '--resource', 'repo:acme/billing', '--access', 'read', '--json')).stdout) as { token_type: string }
    expect(json.token_type).toBe('Bearer')
    const widened = await writ('token', 'exchange', '--agent', 'sub-bot', '--key', join(t.dataDir, 'sub.jwk'), '--subject-token-file', join(t.dataDir, 'sub.jwt'), '--action', 'tests.run', '--resource', 'repo:acme/other')
    expect(widened.code).toBe(1)
    expect(widened.stderr).toContain('[GRANT_SCOPE_EXCEEDED]')

    // A delegated action held for a human: the approver sees whose authority the agent uses.
    const deploy = JSON.parse((await writ('mandate', 'grant', '--human', 'carol@example.com', '--agent', 'deploy-bot', '--action', 'deploy.run', '--resource', 'service:billing', '--task', 'T-14', '--json')).stdout) as { grant: string }
    writeFileSync(join(t.dataDir, 'deploy-mandate.jwt'), deploy.grant)
    const held = await writ('token', 'exchange', ...asDeployBot, '--subject-token-file', join(t.dataDir, 'deploy-mandate.jwt'), '--action', 'deploy.run', '--resource', 'service:billing')
    expect(held.code).toBe(3)
    const shown = await writ('approvals', 'show', held.stdout.trim())
    expect(shown.stdout).toMatch(/^on behalf of\s+carol@example.com$/m)
    expect(shown.stdout).toMatch(/^delegated via\s+the human directly \(grant \S+, depth 1\)$/m)

    const plain = await writ('token', 'request', ...asDeployBot, '--action', 'tests.run', '--resource', 'repo:acme/billing', '--access', 'read', '--task', 'T-1', '--decode')
    expect(plain.stdout).toMatch(/^act\s+-$/m)
  })
})
