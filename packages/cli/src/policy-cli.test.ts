import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLES_DIR, runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

const EXAMPLE_POLICIES = fileURLToPath(new URL('../../../examples/policies', import.meta.url))
const DEPLOY_BOT = fileURLToPath(new URL('deploy-bot.yaml', EXAMPLES_DIR))
const TUESDAY_MORNING = '2025-06-10T10:30:00Z'
const SATURDAY_MORNING = '2025-06-14T10:30:00Z'

let work: string
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'writ-policy-cli-'))
  writeFileSync(join(work, 'syntax.cedar'), '@id("broken")\nforbid (principal, action resource);\n')
  writeFileSync(join(work, 'types.cedar'), [
    '// a valid policy, then one naming an attribute the schema does not have',
    '@id("fine")', 'permit (principal, action, resource);', '',
    '@id("unknown-attribute")', 'permit (principal, action, resource)', 'when { principal.nickname == "x" };', '',
  ].join('\n'))
  writeFileSync(join(work, 'cases.yaml'), casesYaml())
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Cases over the shipped examples: each example policy decides at least one case, and so does the boundary. */
function casesYaml(): string {
  return `
timeZone: UTC
agents:
  deploy-bot: ${JSON.stringify(relative(work, DEPLOY_BOT))}
  prod-deployer:
    { name: prod-deployer, owner: dev@example.com, team: platform, platform: custom,
      capabilities: [{ id: deploy.run, risk_level: medium }],
      data_access: [{ resource: "service:prod-billing", access_type: write, sensitivity: confidential }] }
  analyst:
    { name: analyst, owner: ana@example.com, team: data, platform: custom,
      capabilities: [{ id: customers.read, risk_level: low }],
      data_access: [{ resource: "db:customers", access_type: read, sensitivity: restricted }] }
  orphan:
    { name: orphan, owner: former.owner@example.com, team: data, platform: custom,
      capabilities: [{ id: customers.read, risk_level: low }],
      data_access: [{ resource: "db:customers", access_type: read, sensitivity: restricted }] }
cases:
  - { name: production deploy on a Tuesday morning, agent: prod-deployer, action: deploy.run, resource: "service:prod-billing", time: "${TUESDAY_MORNING}", expect: allow }
  - { name: no production deploy on a Saturday, agent: prod-deployer, action: deploy.run, resource: "service:prod-billing", time: "${SATURDAY_MORNING}", expect: deny }
  - { name: deploy-bot deploys wait for a release manager, agent: deploy-bot, action: deploy.run, resource: "service:billing", time: "${TUESDAY_MORNING}", step: 3, expect: hold }
  - { name: tests run, agent: deploy-bot, action: tests.run, resource: "repo:acme/billing", access: read, expect: allow }
  - { name: an undeclared action is outside the boundary, agent: deploy-bot, action: db.drop, resource: "db:billing", expect: deny }
  - { name: restricted data for a ticket, agent: analyst, action: customers.read, resource: "db:customers", purpose: "JIRA-12 churn analysis", expect: allow }
  - { name: restricted data without a ticket, agent: analyst, action: customers.read, resource: "db:customers", purpose: plan a vacation, expect: deny }
  - { name: off-boarded owner, agent: orphan, action: customers.read, resource: "db:customers", purpose: "JIRA-1", expect: deny }
`
}

describe('writ policy without a server', () => {
  const writ = (...args: string[]) => runWrit(['--data-dir', join(work, 'no-server'), ...args])

  it('validate accepts the shipped examples offline', async () => {
    const result = await writ('policy', 'validate', EXAMPLE_POLICIES)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^ok: 6 policies in 6 files \(offline: /)
  })

  it('validate prints each problem as file: policy line:col: message and exits 1', async () => {
    const result = await writ('policy', 'validate', work)
    expect(result.code).toBe(1)
    expect(result.stdout.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${escape(join(work, 'syntax.cedar'))}: broken 2:27: .*unexpected token \`resource\``)),
      expect.stringMatching(new RegExp(`^${escape(join(work, 'types.cedar'))}: unknown-attribute 7:8: attribute \`nickname\` on entity type \`Writ::Agent\` not found`)),
    ])
    expect(result.stderr).toBe(`error: \`${work}\` is invalid: 2 problems [POLICY_INVALID]`)
  })

  it('validate --json prints the report and still exits 1 when invalid', async () => {
    const result = await writ('policy', 'validate', join(work, 'types.cedar'), '--json')
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, errors: [{ policy: 'unknown-attribute', file: 'types.cedar', line: 7, column: 8 }] })
  })

  it('a directory without .cedar files and a missing path are clean errors', async () => {
    expect((await writ('policy', 'validate', join(work, 'no-such'))).stderr).toContain('cannot read')
    const empty = mkdtempSync(join(work, 'empty-'))
    expect((await writ('policy', 'validate', empty)).stderr).toContain('holds no .cedar files')
  })

  it('schema prints the published Cedar schema offline, with the actions named', async () => {
    const result = await writ('policy', 'schema', '--action', 'deploy.run')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^namespace Writ \{/)
    expect(result.stdout).toContain('entity Agent = {')
    expect(result.stdout).toContain('action "deploy.run" appliesTo')
    const json = await writ('policy', 'schema', '--action', 'deploy.run', '--json')
    expect(JSON.parse(json.stdout)).toMatchObject({ schema: expect.stringMatching(/^namespace Writ \{/), source: 'offline' })
  })

  it('test runs a cases file against a set and prints a pass per case', async () => {
    const result = await writ('policy', 'test', join(work, 'cases.yaml'), '--set', EXAMPLE_POLICIES)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines).toHaveLength(9)
    expect(lines.slice(0, 8).every((line) => line.startsWith('PASS  '))).toBe(true)
    expect(result.stdout).toMatch(/PASS +no production deploy on a Saturday +deny +policy_forbid:business-hours-production-deploys/)
    expect(result.stdout).toMatch(/PASS +deploy-bot deploys wait for a release manager +hold +oversight_required:deploy\.run/)
    expect(result.stdout).toMatch(/PASS +an undeclared action is outside the boundary +deny +capability_not_declared:db\.drop/)
    expect(lines.at(-1)).toBe('8 passed, 0 failed')
  })

  it('test exits 1 when a case fails, reading the set from `policies` in the cases file', async () => {
    const file = join(work, 'failing.yaml')
    writeFileSync(file, readFileSync(join(work, 'cases.yaml'), 'utf8')
      .replace('timeZone: UTC', `timeZone: UTC\npolicies: ${JSON.stringify(relative(work, EXAMPLE_POLICIES))}`)
      .replace('plan a vacation, expect: deny', 'plan a vacation, expect: allow'))
    const result = await writ('policy', 'test', file)
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/FAIL +restricted data without a ticket +expected allow, got deny +policy_forbid:restricted-needs-ticket/)
    expect(result.stdout.split('\n').at(-1)).toBe('7 passed, 1 failed')
    expect(result.stderr).toBe('error: 1 of 8 cases failed')
    const json = await writ('policy', 'test', file, '--json')
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ passed: 7, failed: 1 })
  })

  it('test reports every problem of a malformed cases file with its path', async () => {
    const file = join(work, 'malformed.yaml')
    writeFileSync(file, 'agents: {}\ncases:\n  - { name: x, agent: ghost, action: a.b, resource: r, expected: allow }\n')
    const result = await writ('policy', 'test', file, '--set', EXAMPLE_POLICIES)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('[REQUEST_INVALID]')
    expect(result.stderr).toContain('  - cases[0].expected: unknown key')
    expect(result.stderr).toContain('  - cases[0].agent: `ghost` is not listed under agents')
    expect(result.stderr).toContain('  - cases[0].expect: must be one of allow, deny, hold')
  })

  it('test without a set, a `policies` entry or a server is a usage error', async () => {
    const file = join(work, 'no-set.yaml')
    writeFileSync(file, 'agents: {}\ncases: []\n')
    expect((await writ('policy', 'test', file)).code).toBe(1)
    writeFileSync(file, casesYaml())
    const result = await writ('policy', 'test', file)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('name the policy set with --set')
  })
})

describe('writ policy against a running server', () => {
  let t: TestServer
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])

  beforeAll(async () => {
    t = await startTestServer()
    await writ('agent', 'keygen', '--out', join(t.dataDir, 'deploy'))
    const registered = await writ('agent', 'register', '--file', DEPLOY_BOT, '--public-key', join(t.dataDir, 'deploy.pub.jwk'))
    expect(registered.code).toBe(0)
  })
  afterAll(async () => {
    await t.stop()
    t.remove()
  })

  it('validate uses the server, so actions are checked against the registry', async () => {
    const result = await writ('policy', 'validate', EXAMPLE_POLICIES)
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^ok: 6 policies in 6 files \(checked against the registry at http:\/\/127\.0\.0\.1:\d+\)$/)
    const candidate = join(work, 'typo.cedar')
    writeFileSync(candidate, '@id("typo")\nforbid (principal, action == Writ::Action::"deploy.runn", resource);\n')
    const typo = await writ('policy', 'validate', candidate)
    expect(typo.code).toBe(0)
    expect(typo.stdout).toContain(`${candidate}: typo 1:1: warning: action \`deploy.runn\` is not declared by any registered agent`)
  })

  it('push refuses an invalid set, stores nothing, and exits 1', async () => {
    const result = await writ('policy', 'push', work)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`${join(work, 'types.cedar')}: unknown-attribute 7:8:`)
    expect(result.stderr).toBe(`error: \`${work}\` is invalid: 2 problems; nothing was stored [POLICY_INVALID]`)
    const listing = JSON.parse((await writ('policy', 'list', '--json')).stdout) as { active: number; sets: unknown[] }
    expect(listing).toMatchObject({ active: 1 })
    expect(listing.sets).toHaveLength(1)
  })

  it('push stores the next version and puts it in force; list marks it', async () => {
    const result = await writ('policy', 'push', EXAMPLE_POLICIES, '--comment', 'the shipped examples')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^pushed policy set version 2: 6 policies in 6 files \(hash [0-9a-f]{12}\)$/)
    const list = await writ('policy', 'list')
    expect(list.stdout.split('\n')[0]).toMatch(/^VERSION +ACTIVE +CREATED +BY +HASH +COMMENT$/)
    expect(list.stdout.split('\n')[1]).toMatch(/^2 +\* .* the shipped examples$/)
    expect(list.stdout.split('\n')[2]).toMatch(/^1 +\d{4}-/)
  })

  it('show prints the active set with its policies and files, or a given version', async () => {
    const active = await writ('policy', 'show')
    expect(active.code).toBe(0)
    expect(active.stdout).toMatch(/^version +2 \(active\)$/m)
    expect(active.stdout).toMatch(/^business-hours-production-deploys +business-hours-deploys\.cedar +forbid +deploy\.run$/m)
    expect(active.stdout).toContain('==> restricted-needs-ticket.cedar <==\n// Restricted data only when the task names a ticket')
    const first = await writ('policy', 'show', '1', '--json')
    expect(JSON.parse(first.stdout)).toMatchObject({ version: 1, files: { 'default.cedar': expect.stringContaining('permit (principal, action, resource);') } })
    const missing = await writ('policy', 'show', '99')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('[POLICY_SET_NOT_FOUND]')
    expect((await writ('policy', 'show', 'latest')).code).toBe(2)
  })

  it('diff prints a unified diff per file between two versions, files added and removed included', async () => {
    const result = await writ('policy', 'diff', '1', '2')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('--- a/default.cedar\t(version 1)\n+++ b/default.cedar\t(version 2)\n@@ ')
    expect(result.stdout).toContain('--- /dev/null\t(version 1)\n+++ b/business-hours-deploys.cedar\t(version 2)\n@@ -0,0 +1,15 @@\n+// Production deploys only')
    expect(result.stdout).toMatch(/^ permit \(principal, action, resource\);$/m)
    expect(result.stdout.split('\n').at(-1)).toBe('6 files differ: 1 changed, 5 added, 0 removed')
    const json = await writ('policy', 'diff', '1', '2', '--json')
    expect(json.code).toBe(0)
    const diff = JSON.parse(json.stdout) as { from: string; to: string; files: { file: string; status: string; hunks: { header: string; lines: string[] }[] }[]; summary: unknown }
    expect(diff).toMatchObject({ from: 'version 1', to: 'version 2', summary: { changed: 1, added: 5, removed: 0 } })
    expect(diff.files.find((f) => f.file === 'business-hours-deploys.cedar')).toMatchObject({ status: 'added', hunks: [{ header: '@@ -0,0 +1,15 @@' }] })
  })

  it('diff of a directory compares it with the active set', async () => {
    expect((await writ('policy', 'diff', EXAMPLE_POLICIES)).stdout).toBe(`no differences between active, version 2 and ${EXAMPLE_POLICIES}`)
    const edited = join(work, 'edited')
    cpSync(EXAMPLE_POLICIES, edited, { recursive: true })
    const file = join(edited, 'offboarded-owners.cedar')
    writeFileSync(file, readFileSync(file, 'utf8').replace('"left.company@example.com"', '"left.company@example.com", "gone@example.com"'))
    const result = await writ('policy', 'diff', edited)
    expect(result.stdout).toContain('--- a/offboarded-owners.cedar\t(active, version 2)\n+++ b/offboarded-owners.cedar\t(')
    expect(result.stdout).toMatch(/^-when \{ \["former\.owner@example\.com", "left\.company@example\.com"\]\.contains\(principal\.owner\) \};$/m)
    expect(result.stdout).toMatch(/^\+when \{ .*"gone@example\.com"\]\.contains\(principal\.owner\) \};$/m)
    expect(result.stdout.split('\n').at(-1)).toBe('1 file differs: 1 changed, 0 added, 0 removed')
  })

  it('schema prints the server\'s schema, with the registered agents\' actions', async () => {
    const result = await writ('policy', 'schema')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('action "deploy.run" appliesTo')
    expect(result.stdout).toContain('action "tests.run" appliesTo')
    const json = await writ('policy', 'schema', '--json')
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ schema: expect.stringContaining('action "deploy.run" appliesTo'), source: t.server.adminUrl })
  })

  it('test --against-audit lists the recorded decisions a candidate set would change', async () => {
    const issued = await writ('token', 'request', '--agent', 'deploy-bot', '--key', join(t.dataDir, 'deploy.jwk'),
      '--action', 'tests.run', '--resource', 'repo:acme/billing', '--access', 'read', '--task', 'T-7')
    expect(issued.code).toBe(0)
    const candidate = join(work, 'candidate')
    cpSync(EXAMPLE_POLICIES, candidate, { recursive: true })
    writeFileSync(join(candidate, 'no-tests.cedar'), '@id("no-tests-today")\nforbid (principal, action == Writ::Action::"tests.run", resource);\n')
    const result = await writ('policy', 'test', '--set', candidate, '--against-audit', '--since', '1h')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const [head, header, row] = result.stdout.split('\n')
    expect(head).toMatch(/^1 of \d+ recorded decisions? since \d{4}-.* would change/)
    expect(header).toMatch(/^SEQ +TIME +AGENT +ACTION +RESOURCE +TASK +BEFORE +AFTER +REASONS$/)
    expect(row).toMatch(/ deploy-bot +tests\.run +repo:acme\/billing +T-7 +allow +deny +policy_forbid:no-tests-today$/)
    const json = JSON.parse((await writ('policy', 'test', '--set', candidate, '--against-audit', '--json')).stdout) as { changed_count: number }
    expect(json.changed_count).toBe(1)
    expect((await writ('policy', 'test', '--against-audit')).code).toBe(2)
  })

  it('test with a cases file and no set uses the active set of the server', async () => {
    const result = await writ('policy', 'test', join(work, 'cases.yaml'))
    expect(result.code).toBe(0)
    expect(result.stdout.split('\n').at(-1)).toBe('8 passed, 0 failed')
  })
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
