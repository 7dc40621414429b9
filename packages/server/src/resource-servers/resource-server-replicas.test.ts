/** Two replicas on one PostgreSQL: a resource server registered or removed through one is seen by the other's cache. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, exampleDocument, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { openStorage } from '../storage/open-storage.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../storage/test-database.fixture.js'
import { registerResourceServer } from './resource-server-test.fixture.js'

const BILLING = 'https://billing.example.com'

describe.skipIf(!TEST_DATABASE_URL)(`resource servers across two replicas on one ${describePostgres()}`, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>
  let one: TestApp
  let two: TestApp
  let bot: TestAgent
  beforeAll(async () => {
    database = await createTestDatabase()
    const config = { storage: { driver: 'postgres' as const, url: database.url } }
    one = await createTestApp({ config, storage: await openStorage({ driver: 'postgres', url: database.url }) })
    two = await createTestApp({ config, storage: await openStorage({ driver: 'postgres', url: database.url }) })
    bot = await one.register(exampleDocument('deploy-bot'))
  })
  afterAll(async () => {
    await two?.close()
    await one?.close()
    await database?.drop()
  })

  /** The other replica refreshes on an interval (5 s): poll for the condition, never sleep a fixed time. */
  const eventually = async (check: () => Promise<boolean>) => {
    const deadline = Date.now() + 15_000
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('the other replica did not see the change within 15 s')
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  const status = async (app: TestApp) =>
    (await app.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read', resource: BILLING })).status

  it('accepts the audience and the credential on the other replica after registration, and refuses both after removal', async () => {
    const rs = await registerResourceServer(one, 'billing-api', BILLING)
    expect(await status(one)).toBe(200)
    await eventually(async () => (await status(two)) === 200)
    const token = await two.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...(await rs.clientAuth()) })
    expect(token.status).toBe(200)
    expect((await one.admin('DELETE', '/v1/resource-servers/billing-api')).status).toBe(200)
    expect(await status(one)).toBe(400)
    await eventually(async () => (await status(two)) === 400)
    expect((await two.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...(await rs.clientAuth()) })).status).toBe(401)
  }, 40_000)
})
