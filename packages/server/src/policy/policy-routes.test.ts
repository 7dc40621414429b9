/** Policy sets over the admin API: seeded default, validation, audited pushes, replica reload, what-if replay. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildApp } from '../app.js'
import { loadConfig } from '../config/load.js'
import { createLogger } from '../logger.js'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { enrollTestHost } from '../hosts/host-test.fixture.js'

const FORBID_TESTS = '@id("no-tests")\nforbid (principal, action == Writ::Action::"tests.run", resource);\npermit (principal, action, resource);\n'

describe('policy sets over the admin API', () => {
  let t: TestApp
  let bot: TestAgent
  beforeEach(async () => {
    t = await createTestApp()
    bot = await t.register(exampleDocument('deploy-bot'))
  })
  afterEach(async () => t.close())

  it('seeds the default set (everything inside the boundary) as version 1, audited', async () => {
    const list = await (await t.admin('GET', '/v1/policies')).json() as { active: number; sets: Array<{ version: number; created_by: string }> }
    expect(list).toMatchObject({ active: 1, sets: [{ version: 1, created_by: 'system:bootstrap' }] })
    const first = (await t.storage.audit.records({ limit: 5 })).find((r) => r.type === 'policy.update')
    expect(first).toMatchObject({ actor: { kind: 'system' }, data: { version: 1 } })
    expect((await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })).status).toBe(200)
  })

  it('refuses an invalid set with the policy id and location, and stores nothing', async () => {
    const response = await t.admin('POST', '/v1/policies', { files: { 'bad.cedar': '@id("broken")\npermit (principal, action, resource) when { principal.colour == "red" };\n' } })
    expect(response.status).toBe(400)
    const problem = await response.json() as { code: string; reasons: string[] }
    expect(problem.code).toBe('POLICY_INVALID')
    expect(problem.reasons.join('\n')).toMatch(/broken/)
    expect(problem.reasons.join('\n')).toMatch(/bad\.cedar/)
    expect((await (await t.admin('GET', '/v1/policies')).json() as { active: number }).active).toBe(1)
  })

  it('applies a pushed set at once, names the admin in the audit log, and keeps the old version readable', async () => {
    const pushed = await t.admin('POST', '/v1/policies', { files: { 'main.cedar': FORBID_TESTS }, comment: 'freeze tests' })
    expect(pushed.status).toBe(201)
    expect(await pushed.json()).toMatchObject({ version: 2, comment: 'freeze tests' })
    const denied = await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })
    expect(denied.status).toBe(403)
    expect(await denied.json()).toMatchObject({ writ_code: 'POLICY_DENIED', reasons: ['policy_forbid:no-tests'] })
    const whoami = await (await t.admin('GET', '/v1/whoami')).json() as { id: string }
    const update = (await t.storage.audit.tail(10)).findLast((r) => r.type === 'policy.update')
    expect(update).toMatchObject({ actor: { kind: 'admin', id: whoami.id }, data: { version: 2, files: ['main.cedar'] } })
    const old = await (await t.admin('GET', '/v1/policies/1')).json() as { files: Record<string, string> }
    expect(Object.keys(old.files)).toEqual(['default.cedar'])
    expect((await t.admin('GET', '/v1/policies/99')).status).toBe(404)
  })

  it('lets a replica on the same storage pick up a set pushed through another', async () => {
    const config = loadConfig()
    const replica = await buildApp({ config, clock: t.clock, logger: createLogger('silent', t.clock), issuer: ISSUER, ephemeral: true, storage: t.storage })
    expect(replica.policy.version()).toBe(1)
    await t.admin('POST', '/v1/policies', { files: { 'main.cedar': FORBID_TESTS } })
    expect(await replica.policy.refresh()).toBe(true)
    expect(replica.policy.version()).toBe(2)
  })

  it('refuses to start when the stored set no longer compiles', async () => {
    await t.storage.policySets.insert({ version: 2, files: { 'x.cedar': 'permit (' }, hash: 'x', createdBy: 'test', createdAt: 0, comment: '' })
    await expect(buildApp({ config: loadConfig(), clock: t.clock, logger: createLogger('silent', t.clock), issuer: ISSUER, ephemeral: true, storage: t.storage }))
      .rejects.toMatchObject({ code: 'POLICY_INVALID' })
  })

  it('publishes the Cedar schema with the declared actions', async () => {
    const { schema } = await (await t.admin('GET', '/v1/policies/schema')).json() as { schema: string }
    expect(schema).toContain('namespace Writ')
    expect(schema).toContain('"deploy.run"')
  })

  it('what-if reports exactly the recorded decisions a candidate set would change', async () => {
    const sre = await t.register(exampleDocument('sre-responder'))
    await enrollTestHost(t, 'web-1')
    const allowed = [
      await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' }),
      await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read', task_purpose: 'nightly' }),
    ]
    expect(allowed.map((r) => r.status)).toEqual([200, 200])
    expect((await t.requestCapability(bot, 'db.drop', 'db:billing')).status).toBe(403)
    expect((await t.requestCapability(bot, 'deploy.run', 'service:billing')).status).toBe(400)
    expect((await t.requestCapability(sre, 'sudo.exec', 'host:web-1', { parameters: '{"runas":"root","argv":["systemctl","restart","nginx"]}' })).status).toBe(400)
    t.clock.advance(60_000)

    const report = await (await t.admin('POST', '/v1/policies/what-if', { files: { 'main.cedar': FORBID_TESTS }, since: '24h' })).json() as {
      evaluated: number; changed_count: number; changed: Array<{ action: string; before: string; after: string; reasons: string[] }>
    }
    expect(report.evaluated).toBe(5)
    expect(report.changed_count).toBe(2)
    expect(report.changed.map((c) => [c.action, c.before, c.after])).toEqual([['tests.run', 'allow', 'deny'], ['tests.run', 'allow', 'deny']])
    expect(report.changed[0]?.reasons).toEqual(['policy_forbid:no-tests'])

    const same = await (await t.admin('POST', '/v1/policies/what-if', { files: { 'main.cedar': 'permit (principal, action, resource);\n' }, since: '24h' })).json() as { changed_count: number }
    expect(same.changed_count).toBe(0)
    const none = await (await t.admin('POST', '/v1/policies/what-if', { files: { 'main.cedar': FORBID_TESTS }, since: '30s' })).json() as { evaluated: number }
    expect(none.evaluated).toBe(0)
  })
})
