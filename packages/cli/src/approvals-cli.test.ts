import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLES_DIR, runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

const DEPLOY_BOT = fileURLToPath(new URL('deploy-bot.yaml', EXAMPLES_DIR))
const JWT = /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/

// deploy-bot's identity document: human_oversight.required_for [deploy.run], approvers [release-manager].
describe('held requests and human approvals through the CLI', () => {
  let t: TestServer
  let releaseManager: string
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])
  const asAgent = () => ['--agent', 'deploy-bot', '--key', join(t.dataDir, 'deploy.jwk')]
  const deploy = (task: string, ...extra: string[]) =>
    writ('token', 'request', ...asAgent(), '--action', 'deploy.run', '--resource', 'service:billing', '--task', task, ...extra)

  beforeAll(async () => {
    // A 1 s poll interval keeps the --wait tests short; everything else is the default.
    t = await startTestServer({ oversight: { pollIntervalSeconds: 1 } })
    await writ('agent', 'keygen', '--out', join(t.dataDir, 'deploy'))
    expect((await writ('agent', 'register', '--file', DEPLOY_BOT, '--public-key', join(t.dataDir, 'deploy.pub.jwk'))).code).toBe(0)
  })
  afterAll(async () => {
    await t.stop()
    t.remove()
  })

  it('admin create accepts a free-form role such as release-manager, for a person named by email', async () => {
    const created = JSON.parse((await writ('admin', 'create', '--name', 'rm@example.com', '--role', 'release-manager', '--json')).stdout) as { roles: string[]; credential: string }
    expect(created.roles).toEqual(['release-manager'])
    releaseManager = created.credential
    const bad = await writ('admin', 'create', '--name', 'x', '--role', 'Release Manager')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('a role is lowercase letters')
  })

  let held: string
  it('a held token request prints its auth_req_id, says how to approve it, and exits 3', async () => {
    const result = await deploy('T-1')
    expect(result.code).toBe(3)
    held = result.stdout
    expect(held).toMatch(/^[A-Za-z0-9_-]{16,64}$/)
    expect(result.stderr).toContain('pending: the request waits for a human approval [APPROVAL_PENDING]')
    expect(result.stderr).toContain('  - oversight_required:deploy.run')
    expect(result.stderr).toContain(`writ approvals approve ${held}`)
    expect(result.stderr).toContain(`writ token poll ${held} --agent deploy-bot`)
    const json = await deploy('T-1b', '--json')
    expect(json.code).toBe(3)
    expect(JSON.parse(json.stdout)).toMatchObject({ error: 'authorization_pending', writ_code: 'APPROVAL_PENDING', auth_req_id: expect.any(String), expires_in: 600, interval: 1 })
  })

  it('token request --help documents the exit codes', async () => {
    const help = await writ('token', 'request', '--help')
    expect(help.stdout).toMatch(/Exit codes:\n\s+0 +the token was issued.*\n\s+1 +denied, or an error\n\s+2 +usage error\n\s+3 +pending/)
  })

  it('approvals list shows pending requests with the agent\'s name; show tells what exactly would be approved', async () => {
    const list = await writ('approvals', 'list')
    expect(list.code).toBe(0)
    expect(list.stdout.split('\n')[0]).toMatch(/^AUTH_REQ_ID +STATUS +AGENT +ACTION +RESOURCE +TASK +APPROVERS +EXPIRES$/)
    expect(list.stdout).toMatch(new RegExp(`^${held} +pending +deploy-bot +deploy\\.run +service:billing +T-1 +release-manager +in \\d+ min$`, 'm'))
    const { approvals } = JSON.parse((await writ('approvals', 'list', '--json')).stdout) as { approvals: { auth_req_id: string }[] }
    expect(approvals.map((a) => a.auth_req_id)).toContain(held)
    const show = await writ('approvals', 'show', held)
    expect(show.stdout).toMatch(/^agent +deploy-bot \([0-9a-f-]{36}\)$/m)
    expect(show.stdout).toMatch(/^binding +[0-9a-f]{64}$/m)
    expect(show.stdout).toMatch(/^held because +oversight_required:deploy\.run$/m)
    expect(show.stdout).toMatch(/^approvers +release-manager$/m)
  })

  it('an admin without the role the document names may not approve', async () => {
    const result = await writ('approvals', 'approve', held)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('[APPROVER_NOT_ALLOWED]')
  })

  it('a release manager approves; the agent\'s poll then gets its token, once', async () => {
    const approved = await writ('approvals', 'approve', held, '--note', 'ship it', '--admin-token', releaseManager)
    expect(approved.stderr).toBe('')
    expect(approved.stdout).toBe(`approved \`${held}\`: deploy.run on service:billing for agent \`deploy-bot\` (task T-1)`)
    const shown = JSON.parse((await writ('approvals', 'show', held, '--json')).stdout) as { status: string; decision_note: string }
    expect(shown).toMatchObject({ status: 'approved', decision_note: 'ship it' })
    const poll = await writ('token', 'poll', held, ...asAgent(), '--decode', '--json')
    expect(poll.code).toBe(0)
    const grant = JSON.parse(poll.stdout) as { access_token: string; claims: Record<string, unknown> }
    expect(grant.access_token).toMatch(JWT)
    expect(grant.claims).toMatchObject({ authorization_details: [{ action: 'deploy.run', resource: 'service:billing' }], task: { id: 'T-1' } })
    const again = await writ('token', 'poll', held, ...asAgent())
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('[APPROVAL_NOT_FOUND]')
    const twice = await writ('approvals', 'deny', held, '--admin-token', releaseManager)
    expect(twice.code).toBe(1)
    expect(twice.stderr).toContain('[APPROVAL_ALREADY_DECIDED]')
  })

  it('a denied request: the poll exits 1 with APPROVAL_DENIED', async () => {
    const id = (await deploy('T-2')).stdout
    const denied = await writ('approvals', 'deny', id, '--note', 'not during the freeze', '--admin-token', releaseManager)
    expect(denied.stdout).toBe(`denied \`${id}\`: deploy.run on service:billing for agent \`deploy-bot\` (task T-2)`)
    const poll = await writ('token', 'poll', id, ...asAgent())
    expect(poll.code).toBe(1)
    expect(poll.stdout).toBe('')
    expect(poll.stderr).toContain('[APPROVAL_DENIED]')
    const { approvals } = JSON.parse((await writ('approvals', 'list', '--status', 'denied', '--json')).stdout) as { approvals: { auth_req_id: string }[] }
    expect(approvals.map((a) => a.auth_req_id)).toEqual([id])
  })

  it('an argument that starts with \'-\' is passed after `--`; without it the usage error says so', async () => {
    const bare = await writ('approvals', 'show', '-MS0YF-c4cE8eZD6Oj-pungwq08RItkc')
    expect(bare.code).toBe(2)
    expect(bare.stderr).toContain('goes after `--`')
    const passed = await writ('approvals', 'show', '--', '-MS0YF-c4cE8eZD6Oj-pungwq08RItkc')
    expect(passed.code).toBe(1)
    expect(passed.stderr).toContain('approval `-MS0YF-c4cE8eZD6Oj-pungwq08RItkc` does not exist [NOT_FOUND]')
  })

  it('token request --wait polls until a human approves, then prints the token', async () => {
    const waiting = deploy('T-3', '--wait', '30')
    const id = await pendingFor('T-3')
    expect((await writ('approvals', 'approve', id, '--admin-token', releaseManager)).code).toBe(0)
    const result = await waiting
    expect(result.stderr).not.toContain('error:')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(JWT)
    expect(result.stderr).toContain(`held for a human approval: \`deploy.run\` on \`service:billing\` (auth_req_id ${id}, expires in 600 s)`)
    expect(result.stderr).toContain(`an approver runs: writ approvals approve ${id}`)
    expect(result.stderr).toMatch(/issued: `deploy\.run` on `service:billing` for task `T-3`; expires in \d+ s/)
  })

  it('token request --wait ends with exit 1 when the human denies', async () => {
    const waiting = deploy('T-4', '--wait')
    const id = await pendingFor('T-4')
    await writ('approvals', 'deny', id, '--admin-token', releaseManager)
    const result = await waiting
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('[APPROVAL_DENIED]')
  })

  it('token request --wait gives up after the given seconds and exits 3', async () => {
    const result = await deploy('T-5', '--wait', '1')
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/pending: the wait for approval timed out after 1 s; `[\w-]+` is still pending \[APPROVAL_PENDING\]/)
    expect(result.stdout).toMatch(/^[A-Za-z0-9_-]{16,64}$/)
  })

  /** The auth_req_id of the pending request for a task, once the CLI's request has been held. */
  async function pendingFor(task: string): Promise<string> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const { approvals } = JSON.parse((await writ('approvals', 'list', '--json')).stdout) as { approvals: { auth_req_id: string; task: { id: string } }[] }
      const found = approvals.find((a) => a.task.id === task)
      if (found) return found.auth_req_id
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error(`no pending approval for task ${task}`)
  }
})
