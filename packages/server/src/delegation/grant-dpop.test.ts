/** DPoP with delegation grants (docs/threats.md TX-13): bound capabilities from a grant, and bound grants need their key. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CLIENT_ASSERTION_TYPE, GRANT_TYPES, TOKEN_TYPE_IDS, TOKEN_TYPES, createDpopKey, signDpopProof, type DpopKey } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { action, decodePayload, delegate, exchangeForCapability, mandate } from './delegation-test.fixture.js'

describe('DPoP and delegation grants', () => {
  let t: TestApp
  let bot: TestAgent
  let other: TestAgent
  let key: DpopKey
  beforeEach(async () => {
    // The human-token port answers for one fixed token; its real implementations have their own suites.
    t = await createTestApp({
      humanTokens: {
        async verify(token) {
          if (token !== 'alice-id-token') throw new Error('unexpected human token')
          return { issuer: 'https://idp.example', user: 'alice@example.com', groups: ['sre'] }
        },
      },
    })
    bot = await t.register(exampleDocument('deploy-bot'))
    other = await t.register({ ...exampleDocument('deploy-bot'), name: 'other-bot' })
    key = await createDpopKey()
  })
  afterEach(async () => t.close())

  const proof = (by: DpopKey = key) => signDpopProof(by, { htm: 'POST', htu: `${ISSUER}/oauth/token`, now: () => t.clock.nowSeconds() })
  const withProof = async (by: DpopKey = key) => {
    const dpop = await proof(by)
    const original = t.app.publicApp.request.bind(t.app.publicApp)
    // The fixture's token() sends no headers; this one request carries the proof.
    t.app.publicApp.request = ((input: string, init: RequestInit = {}) => {
      t.app.publicApp.request = original
      return original(input, { ...init, headers: { ...(init.headers as Record<string, string>), dpop } })
    }) as typeof original
  }
  /** The mandate's own claims, re-signed by Writ with a `cnf`: a grant bound to `key` for `bot`. */
  async function boundGrant(): Promise<string> {
    const { grant } = await mandate(t, bot, [action('tests.run', 'repo:acme/*')])
    return t.app.keys.sign(TOKEN_TYPES.grant, { ...decodePayload(grant), cnf: { jkt: key.jkt } }).jws
  }

  it('a grant exchanged with a proof gives a capability bound to the proof key', async () => {
    const { grant } = await mandate(t, bot, [action('tests.run', 'repo:acme/*')])
    await withProof()
    const response = await exchangeForCapability(t, bot, grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect(response.status).toBe(200)
    const body = await response.json() as { access_token: string; token_type: string }
    expect(body.token_type).toBe('DPoP')
    expect(decodePayload(body.access_token)).toMatchObject({ sub: 'alice@example.com', cnf: { jkt: key.jkt } })
  })

  it('a human token exchanged with a proof gives a grant bound to the key, usable only with it', async () => {
    await withProof()
    const response = await t.token({
      grant_type: GRANT_TYPES.tokenExchange, client_id: bot.agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await bot.assertion(), subject_token: 'alice-id-token', subject_token_type: TOKEN_TYPE_IDS.idToken,
      requested_token_type: TOKEN_TYPE_IDS.grant, authorization_details: JSON.stringify([action('tests.run', 'repo:acme/billing', { actions: ['read'] })]), task_id: 'T-80',
    })
    expect(response.status, await response.clone().text()).toBe(200)
    const grant = (await response.json() as { access_token: string }).access_token
    expect(decodePayload(grant)).toMatchObject({ sub: 'alice@example.com', may_act: { sub: bot.agent.id }, cnf: { jkt: key.jkt } })
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'delegation.create', data: { cnf_jkt: key.jkt } })
    const detail = action('tests.run', 'repo:acme/billing', { actions: ['read'] })
    expect(await (await exchangeForCapability(t, bot, grant, detail)).json()).toMatchObject({ reasons: ['dpop_proof_missing'] })
    await withProof()
    expect((await exchangeForCapability(t, bot, grant, detail)).status).toBe(200)
  })

  it('a delegator\'s proof does not bind the child grant it makes for another agent', async () => {
    const { grant } = await mandate(t, bot, [action('tests.run', 'repo:acme/*')])
    await withProof()
    const response = await delegate(t, bot, grant, other.agent.id, [action('tests.run', 'repo:acme/billing')])
    expect(response.status).toBe(200)
    const child = (await response.json() as { access_token: string }).access_token
    expect(decodePayload(child).cnf).toBeUndefined()
  })

  it('a bound grant is refused without a proof and with a proof by another key, and served with its own key', async () => {
    const grant = await boundGrant()
    const detail = action('tests.run', 'repo:acme/billing', { actions: ['read'] })
    const missing = await exchangeForCapability(t, bot, grant, detail)
    expect(missing.status).toBe(400)
    expect(await missing.json()).toMatchObject({ error: 'invalid_dpop_proof', reasons: ['dpop_proof_missing'] })
    await withProof(await createDpopKey())
    const wrong = await exchangeForCapability(t, bot, grant, detail)
    expect(await wrong.json()).toMatchObject({ error: 'invalid_dpop_proof', reasons: ['dpop_key_mismatch'] })
    const delegated = await delegate(t, bot, grant, other.agent.id, undefined)
    expect(await delegated.json()).toMatchObject({ error: 'invalid_dpop_proof', reasons: ['dpop_proof_missing'] })
    await withProof()
    const ok = await exchangeForCapability(t, bot, grant, detail)
    expect(ok.status).toBe(200)
    expect(decodePayload((await ok.json() as { access_token: string }).access_token).cnf).toEqual({ jkt: key.jkt })
  })
})
