/**
 * A human signs in at oidc-provider (a real login through its development interactions); an agent exchanges the ID
 * token at Writ's token endpoint for a delegation grant (sub = that human), then for a capability acting for them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ASSERTION_TYPE, GRANT_TYPES, TOKEN_TYPE_IDS } from '@writ/sdk'
import { createTestApp, exampleDocument, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { action, decodePayload, exchangeForCapability } from '../delegation/delegation-test.fixture.js'
import { HUMAN_CLIENT_ID, startHumanIdentityProvider, type HumanIdentityProvider } from './human-identity-provider.fixture.js'

describe('token exchange of a human ID token issued by oidc-provider', () => {
  let idp: HumanIdentityProvider
  let t: TestApp
  let bot: TestAgent

  beforeAll(async () => {
    idp = await startHumanIdentityProvider({ alice: ['sre'] })
    t = await createTestApp({
      startMs: Date.now(),
      config: { trust: { humanIssuers: [{ issuer: idp.issuer, audience: HUMAN_CLIENT_ID, groupsClaim: 'groups' }] } },
    })
    bot = await t.register(exampleDocument('deploy-bot'))
  })
  afterAll(async () => { await t.close(); await idp.close() })

  const exchange = async (subjectToken: string) => t.token({
    grant_type: GRANT_TYPES.tokenExchange, client_id: bot.agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await bot.assertion(), subject_token: subjectToken, subject_token_type: TOKEN_TYPE_IDS.idToken,
    requested_token_type: TOKEN_TYPE_IDS.grant,
    authorization_details: JSON.stringify([action('tests.run', 'repo:acme/billing', { actions: ['read'] })]), task_id: 'T-88',
  })

  it('gives the agent a grant whose sub is the human who logged in, and a capability acting for them', async () => {
    const idToken = await idp.login('alice')
    const response = await exchange(idToken)
    expect(response.status, await response.clone().text()).toBe(200)
    const body = await response.json() as { access_token: string; issued_token_type: string }
    expect(body.issued_token_type).toBe(TOKEN_TYPE_IDS.grant)
    const grant = decodePayload(body.access_token)
    expect(grant).toMatchObject({ sub: 'alice', may_act: { sub: bot.agent.id } })
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'delegation.create', data: { via: 'id_token', issuer: idp.issuer, groups: ['sre'] } })

    const capability = await exchangeForCapability(t, bot, body.access_token, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect(capability.status).toBe(200)
    expect(decodePayload((await capability.json() as { access_token: string }).access_token)).toMatchObject({ sub: 'alice', act: { sub: bot.agent.id } })
  })

  it('refuses an ID token from an identity provider Writ does not trust', async () => {
    const other = await startHumanIdentityProvider()
    try {
      const refused = await exchange(await other.login('mallory'))
      expect(refused.status).toBeGreaterThanOrEqual(400)
      expect(refused.status).toBeLessThan(500)
    } finally {
      await other.close()
    }
  })
})
