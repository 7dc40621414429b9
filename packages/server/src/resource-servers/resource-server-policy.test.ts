/** Cedar sees the resource server: `context.audience` always, `context.resource_server` when the audience is registered. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTestApp, exampleDocument, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { registerResourceServer } from './resource-server-test.fixture.js'

const BILLING = 'https://billing.example.com'

// Only agents of team billing may get tokens for the billing API; everything else stays allowed.
const BILLING_ONLY = `@id("billing-api-team-only")
forbid (principal, action, resource)
when { context.audience == "${BILLING}" }
unless { principal.team == "billing" };

@id("named-server")
forbid (principal, action, resource)
when { context has resource_server && context.resource_server == "frozen-api" };

permit (principal, action, resource);
`

describe('policy over resource servers', () => {
  let t: TestApp
  let platformBot: TestAgent
  let billingBot: TestAgent
  beforeEach(async () => {
    t = await createTestApp({ config: { tokens: { audiences: ['urn:example:configured'] } } })
    await registerResourceServer(t, 'billing-api', BILLING)
    await registerResourceServer(t, 'frozen-api', 'urn:example:frozen')
    platformBot = await t.register(exampleDocument('deploy-bot'))
    billingBot = await t.register({ ...exampleDocument('deploy-bot'), name: 'billing-bot', team: 'billing' })
    const pushed = await t.admin('POST', '/v1/policies', { files: { 'main.cedar': BILLING_ONLY }, comment: 'billing API for team billing' })
    expect(pushed.status).toBe(201)
  })
  afterEach(async () => t.close())

  const ask = (agent: TestAgent, resource?: string) =>
    t.requestCapability(agent, 'tests.run', 'repo:acme/billing', { access: 'read', ...(resource ? { resource } : {}) })

  it('only agents of team billing may get tokens for audience https://billing.example.com', async () => {
    expect((await ask(billingBot, BILLING)).status).toBe(200)
    const refused = await ask(platformBot, BILLING)
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ error: 'access_denied', writ_code: 'POLICY_DENIED' })
    // Other audiences, registered or configured, are untouched by the policy.
    expect((await ask(platformBot)).status).toBe(200)
    expect((await ask(platformBot, 'urn:example:configured')).status).toBe(200)
    const denial = (await t.storage.audit.tail(10)).find((r) => r.type === 'token.deny')
    expect(denial).toMatchObject({ decision: { effect: 'deny' }, data: { policies: ['billing-api-team-only'], policy_context: { audience: BILLING } } })
  })

  it('names the registered resource server in context.resource_server', async () => {
    expect((await ask(billingBot, 'urn:example:frozen')).status).toBe(403)
    expect((await ask(billingBot, 'urn:example:configured')).status).toBe(200)
  })
})
