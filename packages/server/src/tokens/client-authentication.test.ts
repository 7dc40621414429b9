import { randomUUID, type JsonWebKey } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decodeJwt, importJWK, SignJWT } from 'jose'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const TESTS_RUN = JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }])

/** An assertion naming the agent as `as` (its id or its name), with a chosen jti. */
async function assertion(t: TestApp, privateJwk: JsonWebKey, as: string, jti: string = randomUUID()): Promise<string> {
  const now = t.clock.nowSeconds()
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: privateJwk.kid! })
    .setIssuer(as).setSubject(as).setAudience(ISSUER).setJti(jti).setIssuedAt(now).setExpirationTime(now + 60)
    .sign(await importJWK(privateJwk, 'EdDSA'))
}

function tokenRequest(t: TestApp, clientId: string, clientAssertion: string): Promise<Response> {
  return t.token({
    grant_type: 'client_credentials', client_id: clientId, client_assertion_type: ASSERTION_TYPE, client_assertion: clientAssertion,
    authorization_details: TESTS_RUN, task_id: 'T-1',
  })
}

describe('authenticateClient with an agent named by name', () => {
  let t: TestApp
  let bot: TestAgent
  beforeEach(async () => {
    t = await createTestApp()
    bot = await t.register(exampleDocument('deploy-bot'))
  })
  afterEach(async () => t.close())

  it('issues a token whose sub and client_id are the agent id when the agent names itself by name', async () => {
    const response = await tokenRequest(t, 'deploy-bot', await assertion(t, bot.privateJwk, 'deploy-bot'))
    expect(response.status).toBe(200)
    const { access_token: token } = await response.json() as { access_token: string }
    expect(decodeJwt(token)).toMatchObject({ sub: bot.agent.id, client_id: bot.agent.id })
    const [issue] = await t.storage.audit.tail(1)
    expect(issue).toMatchObject({ type: 'token.issue', actor: { kind: 'agent', id: bot.agent.id } })
  })

  it('refuses an assertion that names the agent by id and by name in the same jti twice (replay keyed on the resolved id)', async () => {
    const jti = randomUUID()
    expect((await tokenRequest(t, bot.agent.id, await assertion(t, bot.privateJwk, bot.agent.id, jti))).status).toBe(200)
    const byName = await tokenRequest(t, 'deploy-bot', await assertion(t, bot.privateJwk, 'deploy-bot', jti))
    expect(byName.status).toBe(401)
    expect(await byName.json()).toMatchObject({ error: 'invalid_client', writ_code: 'CLIENT_ASSERTION_REPLAYED' })

    const other = randomUUID()
    expect((await tokenRequest(t, 'deploy-bot', await assertion(t, bot.privateJwk, 'deploy-bot', other))).status).toBe(200)
    const byId = await tokenRequest(t, bot.agent.id, await assertion(t, bot.privateJwk, bot.agent.id, other))
    expect(await byId.json()).toMatchObject({ writ_code: 'CLIENT_ASSERTION_REPLAYED' })
    expect(await t.storage.tokens.countIssued()).toBe(2)
  })

  it("refuses an assertion naming another agent by name, signed with the caller's own key", async () => {
    const other = await t.register({ ...exampleDocument('deploy-bot'), name: 'other-bot' })
    const response = await tokenRequest(t, 'deploy-bot', await assertion(t, other.privateJwk, 'deploy-bot'))
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ writ_code: 'CLIENT_AUTHENTICATION_FAILED', reasons: ['assertion_key_unknown'] })
  })

  it('refuses a client_id that is the id while the assertion names the agent by name', async () => {
    const response = await tokenRequest(t, bot.agent.id, await assertion(t, bot.privateJwk, 'deploy-bot'))
    expect(await response.json()).toMatchObject({ writ_code: 'CLIENT_AUTHENTICATION_FAILED', reasons: ['client_id_mismatch'] })
  })

  it('follows a rename: the new name works, the old one is unknown, the id keeps working', async () => {
    const renamed = await t.admin('PUT', `/v1/agents/${bot.agent.id}`, { ...bot.agent.document, name: 'release-bot' })
    expect(renamed.status).toBe(200)
    expect((await tokenRequest(t, 'release-bot', await assertion(t, bot.privateJwk, 'release-bot'))).status).toBe(200)
    const old = await tokenRequest(t, 'deploy-bot', await assertion(t, bot.privateJwk, 'deploy-bot'))
    expect(await old.json()).toMatchObject({ writ_code: 'CLIENT_AUTHENTICATION_FAILED', reasons: ['agent_unknown'] })
    expect((await tokenRequest(t, bot.agent.id, await assertion(t, bot.privateJwk, bot.agent.id))).status).toBe(200)
  })

  it('refuses a suspended agent named by name', async () => {
    expect((await t.admin('POST', `/v1/agents/${bot.agent.id}/suspend`)).status).toBe(200)
    const response = await tokenRequest(t, 'deploy-bot', await assertion(t, bot.privateJwk, 'deploy-bot'))
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ writ_code: 'AGENT_NOT_ACTIVE' })
  })
})
