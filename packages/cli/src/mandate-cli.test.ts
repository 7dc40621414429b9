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
})
