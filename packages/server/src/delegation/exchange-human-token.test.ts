import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SignJWT, createRemoteJWKSet, errors as joseErrors, exportJWK, generateKeyPair, jwtVerify, type JWK, type CryptoKey } from 'jose'
import { CLIENT_ASSERTION_TYPE, GRANT_TYPES, TOKEN_TYPE_IDS, WritError, type WritAction } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { action, decodePayload, exchangeForCapability } from './delegation-test.fixture.js'
import type { HumanIdentity, HumanTokenVerifier } from './human-token-verifier.js'

const IDP_AUDIENCE = 'writ-delegation'

/**
 * A small implementation of the port for these tests: one trusted issuer whose keys are served over real HTTP, verified
 * with jose. Federation's real implementation (discovery, `trust.humanIssuers`) has its own suite.
 */
function localHumanTokens(issuer: string, jwksUrl: URL): HumanTokenVerifier {
  const jwks = createRemoteJWKSet(jwksUrl)
  return {
    async verify(token, kind): Promise<HumanIdentity> {
      try {
        const { payload } = await jwtVerify(token, jwks, { issuer, audience: IDP_AUDIENCE, algorithms: ['ES256'], typ: kind === 'jwt' ? 'at+jwt' : undefined, maxTokenAge: '1h' })
        if (typeof payload.sub !== 'string') throw new Error('no sub')
        const groups = Array.isArray(payload.groups) ? payload.groups.filter((g): g is string => typeof g === 'string') : []
        return { issuer, user: (payload.email as string | undefined) ?? payload.sub, groups, ...(payload.jti ? { jti: payload.jti } : {}) }
      } catch (error) {
        const reason = error instanceof joseErrors.JOSEError ? error.code : 'invalid'
        throw new WritError('GRANT_INVALID', 'the human token is not valid', { reasons: [`human_token_invalid:${reason}`] })
      }
    },
  }
}

describe('human token exchange (human → agent grant)', () => {
  let idp: Server
  let idpIssuer: string
  let idpKey: CryptoKey
  let publicJwk: JWK
  let t: TestApp
  let bot: TestAgent

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256')
    idpKey = pair.privateKey
    publicJwk = { ...await exportJWK(pair.publicKey), kid: 'idp-1', alg: 'ES256', use: 'sig' }
    idp = createServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(req.url === '/jwks' ? { keys: [publicJwk] } : {}))
    })
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r))
    idpIssuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`
  })
  afterAll(() => { idp.close() })
  beforeEach(async () => {
    t = await createTestApp({ humanTokens: localHumanTokens(idpIssuer, new URL(`${idpIssuer}/jwks`)) })
    bot = await t.register(exampleDocument('deploy-bot'))
  })
  afterEach(async () => t.close())

  const humanToken = (claims: Record<string, unknown> = {}, typ = 'JWT') => new SignJWT({ email: 'alice@example.com', groups: ['sre', 'billing'], ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', typ }).setIssuer(idpIssuer).setAudience(IDP_AUDIENCE).setSubject('u-123')
    .setIssuedAt(Math.floor(Date.now() / 1000)).setExpirationTime('10m').setJti(crypto.randomUUID()).sign(idpKey)

  const exchange = async (agent: TestAgent, subjectToken: string, details: WritAction[], extra: Record<string, string> = {}) => t.token({
    grant_type: GRANT_TYPES.tokenExchange, client_id: agent.agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await agent.assertion(), subject_token: subjectToken, subject_token_type: TOKEN_TYPE_IDS.idToken,
    requested_token_type: TOKEN_TYPE_IDS.grant, authorization_details: JSON.stringify(details), task_id: 'T-77', ...extra,
  })

  it("exchanges a human's ID token for a grant with sub = the human and may_act = the agent, then a capability", async () => {
    const response = await exchange(bot, await humanToken(), [action('deploy.run', 'service:billing'), action('tests.run', 'repo:acme/billing', { actions: ['read'] })], { task_purpose: 'release 42' })
    const text = await response.clone().text()
    expect(response.status, text).toBe(200)
    const body = await response.json() as { access_token: string; issued_token_type: string; token_type: string; expires_in: number }
    expect(body).toMatchObject({ issued_token_type: TOKEN_TYPE_IDS.grant, token_type: 'N_A', expires_in: 3_600 })
    const grant = decodePayload(body.access_token)
    expect(grant).toMatchObject({ iss: ISSUER, aud: ISSUER, sub: 'alice@example.com', may_act: { sub: bot.agent.id }, task: { id: 'T-77', purpose: 'release 42' } })
    expect(grant.act).toBeUndefined()
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({
      type: 'delegation.create', on_behalf_of: 'alice@example.com', token: { jti: grant.jti },
      data: { kind: 'human', delegator: 'alice@example.com', delegate: bot.agent.id, via: 'id_token', issuer: idpIssuer, groups: ['sre', 'billing'] },
    })
    expect((await t.storage.grants.find(grant.jti as string))?.human).toEqual({ groups: ['sre', 'billing'] })

    const capability = await exchangeForCapability(t, bot, body.access_token, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect(capability.status).toBe(200)
    expect(decodePayload((await capability.json() as { access_token: string }).access_token)).toMatchObject({ sub: 'alice@example.com', client_id: bot.agent.id, act: { sub: bot.agent.id }, parent: grant.jti })
  })

  it('lets Cedar decide who may delegate what (context.delegating, the human and their groups), and later sees the groups at use', async () => {
    const policy = [
      '@id("sre-delegates-deploys")',
      'forbid (principal, action == Writ::Action::"deploy.run", resource) when { context.delegating && !(context has human && context.human.groups.contains("sre")) };',
      '@id("billing-only-at-use")',
      'forbid (principal, action, resource) when { !context.delegating && context has human && !context.human.groups.contains("billing") };',
      'permit (principal, action, resource);',
    ].join('\n')
    expect((await t.admin('POST', '/v1/policies', { files: { 'main.cedar': policy } })).status).toBe(201)
    const refused = await exchange(bot, await humanToken({ groups: ['billing'] }), [action('deploy.run', 'service:billing')])
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ writ_code: 'POLICY_DENIED', reasons: ['deploy.run:policy_forbid:sre-delegates-deploys'] })
    expect((await exchange(bot, await humanToken({ groups: ['sre'] }), [action('deploy.run', 'service:billing')])).status).toBe(200)
    // An SRE outside billing may delegate tests.run, but the grant's use is refused: the groups travel with the grant.
    const sreOnly = (await (await exchange(bot, await humanToken({ groups: ['sre'] }), [action('tests.run', 'repo:acme/billing', { actions: ['read'] })])).json() as { access_token: string }).access_token
    const used = await exchangeForCapability(t, bot, sreOnly, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect(await used.json()).toMatchObject({ writ_code: 'POLICY_DENIED', reasons: ['policy_forbid:billing-only-at-use'] })
  })

  it("keeps the agent's boundary: a human cannot delegate what the agent's document does not declare", async () => {
    const undeclared = await exchange(bot, await humanToken(), [action('db.drop', 'db:billing')])
    expect(await undeclared.json()).toMatchObject({ writ_code: 'POLICY_DENIED', reasons: ['db.drop:capability_not_declared:db.drop'] })
    const wider = await exchange(bot, await humanToken(), [action('deploy.run', 'service:*')])
    expect((await wider.json() as { writ_code: string }).writ_code).toBe('POLICY_DENIED')
    expect(await t.storage.grants.list({ limit: 10 })).toEqual([])
  })

  it('refuses untrusted, forged, expired and wrong-audience human tokens, and audits each refusal', async () => {
    const other = await generateKeyPair('ES256')
    const forged = await new SignJWT({ email: 'alice@example.com' }).setProtectedHeader({ alg: 'ES256', kid: 'idp-1' }).setIssuer(idpIssuer)
      .setAudience(IDP_AUDIENCE).setSubject('u-1').setIssuedAt().setExpirationTime('10m').sign(other.privateKey)
    const cases: Array<[string, string]> = [
      ['forged', forged],
      ['expired', await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'idp-1' }).setIssuer(idpIssuer).setAudience(IDP_AUDIENCE).setSubject('u').setIssuedAt(Math.floor(Date.now() / 1000) - 7_200).setExpirationTime(Math.floor(Date.now() / 1000) - 3_600).sign(idpKey)],
      ['wrong audience', await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'idp-1' }).setIssuer(idpIssuer).setAudience('someone-else').setSubject('u').setIssuedAt().setExpirationTime('10m').sign(idpKey)],
      ['untrusted issuer', await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'idp-1' }).setIssuer('https://evil.example').setAudience(IDP_AUDIENCE).setSubject('u').setIssuedAt().setExpirationTime('10m').sign(idpKey)],
    ]
    for (const [name, token] of cases) {
      const response = await exchange(bot, token, [action('tests.run', 'repo:acme/billing', { actions: ['read'] })])
      expect(response.status, name).toBe(400)
      expect((await response.json() as { error: string }).error, name).toBe('invalid_grant')
      const [record] = await t.storage.audit.tail(1)
      expect(record?.type).toBe('token.deny')
    }
    expect(await t.storage.grants.list({ limit: 10 })).toEqual([])
  })

  it('refuses a grant presented as a human token, a longer lifetime than configured, and a missing task or details', async () => {
    const good = (await (await exchange(bot, await humanToken(), [action('tests.run', 'repo:acme/billing', { actions: ['read'] })])).json() as { access_token: string }).access_token
    expect((await exchange(bot, good, [action('tests.run', 'repo:acme/billing', { actions: ['read'] })])).status).toBe(400)
    const long = await exchange(bot, await humanToken(), [action('tests.run', 'repo:acme/billing', { actions: ['read'] })], { expires_in: '7200' })
    expect(await long.json()).toMatchObject({ writ_code: 'GRANT_SCOPE_EXCEEDED', reasons: ['widened:expiry'] })
    const noTask = await t.token({
      grant_type: GRANT_TYPES.tokenExchange, client_id: bot.agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await bot.assertion(),
      subject_token: await humanToken(), subject_token_type: TOKEN_TYPE_IDS.jwt, requested_token_type: TOKEN_TYPE_IDS.grant,
      authorization_details: JSON.stringify([action('tests.run', 'repo:acme/billing', { actions: ['read'] })]),
    })
    expect(await noTask.json()).toMatchObject({ writ_code: 'REQUEST_INVALID' })
  })
})

describe('human token exchange without a trusted human issuer', () => {
  it('refuses with a clear error that no human issuer is trusted', async () => {
    const t = await createTestApp()
    try {
      const bot = await t.register(exampleDocument('deploy-bot'))
      const response = await t.token({
        grant_type: GRANT_TYPES.tokenExchange, client_id: bot.agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await bot.assertion(),
        subject_token: 'eyJhbGciOiJFUzI1NiJ9.e30.sig', subject_token_type: TOKEN_TYPE_IDS.idToken, requested_token_type: TOKEN_TYPE_IDS.grant,
        authorization_details: JSON.stringify([action('tests.run', 'repo:acme/billing', { actions: ['read'] })]), task_id: 'T-1',
      })
      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({ error: 'invalid_grant', writ_code: 'HUMAN_ISSUER_UNTRUSTED', reasons: ['human_issuer_untrusted'] })
    } finally {
      await t.close()
    }
  })
})
