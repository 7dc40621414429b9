import { generateKeyPairSync, sign } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decodeProtectedHeader } from 'jose'
import { createTestApp, exampleDocument, ISSUER, type TestApp } from '../test-app.fixture.js'
import { registerResourceServer, type TestResourceServer } from './resource-server-test.fixture.js'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

describe('verifyApiToken: hostile battery', () => {
  let t: TestApp
  let rs: TestResourceServer
  let good: string
  beforeEach(async () => {
    t = await createTestApp()
    rs = await registerResourceServer(t, 'billing-api', 'https://billing.example.com')
    const response = await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...(await rs.clientAuth()) })
    good = ((await response.json()) as { access_token: string }).access_token
  })
  afterEach(async () => t.close())

  /** A token signed by Writ's own current key, with whatever header typ and claims a case needs. */
  const signed = async (claims: Record<string, unknown>, typ = 'at+jwt') => {
    const { jws } = t.app.keys.sign(typ, claims)
    return jws
  }
  const claims = () => {
    const now = t.clock.nowSeconds()
    return { iss: ISSUER, sub: rs.server.id, client_id: rs.server.id, aud: ISSUER, scope: 'writ:revocations', jti: 'j-1', iat: now, exp: now + 300 }
  }
  const refusal = async (token: string, scope: 'writ:revocations' = 'writ:revocations', options?: { dpopJkt?: string }) => {
    try {
      await t.app.verifyApiToken(token, scope, options)
    } catch (error) {
      return { code: (error as { code: string }).code, reason: (error as { reasons: string[] }).reasons[0] }
    }
    return undefined
  }

  it('accepts the real token', async () => {
    expect(await refusal(good)).toBeUndefined()
    expect(await refusal(await signed(claims()))).toBeUndefined()
  })

  it('refuses a token for another audience', async () => {
    expect(await refusal(await signed({ ...claims(), aud: 'https://billing.example.com' }))).toMatchObject({ reason: 'api_token_aud_invalid' })
    expect(await refusal(await signed({ ...claims(), aud: [ISSUER] }))).toMatchObject({ reason: 'api_token_aud_invalid' })
  })

  it('refuses another typ (a delegation grant, a JWT without typ)', async () => {
    expect(await refusal(await signed(claims(), 'writ-grant+jwt'))).toMatchObject({ code: 'TOKEN_INVALID', reason: expect.stringMatching(/^api_token_malformed/) })
    expect(await refusal(await signed(claims(), 'JWT'))).toMatchObject({ reason: expect.stringMatching(/^api_token_malformed/) })
  })

  it('refuses a capability token presented as an API token', async () => {
    const bot = await t.register(exampleDocument('deploy-bot'))
    const response = await t.requestCapability(bot, 'tests.run', 'repo:acme/billing', { access: 'read' })
    const capability = ((await response.json()) as { access_token: string }).access_token
    expect(await refusal(capability)).toMatchObject({ reason: 'api_token_aud_invalid' })
  })

  it('refuses an expired token and one whose lifetime this server never issues', async () => {
    t.clock.advance(301_000 + 60_000)
    expect(await refusal(good)).toMatchObject({ code: 'TOKEN_EXPIRED' })
    const now = t.clock.nowSeconds()
    expect(await refusal(await signed({ ...claims(), iat: now, exp: now + 86_400 }))).toMatchObject({ reason: 'api_token_time_invalid' })
    expect(await refusal(await signed({ ...claims(), iat: now + 3_600, exp: now + 3_700 }))).toMatchObject({ reason: 'api_token_time_invalid' })
  })

  it('refuses the token of a removed resource server and of an unknown client', async () => {
    expect(await refusal(await signed({ ...claims(), sub: 'someone', client_id: 'someone' }))).toMatchObject({ reason: 'api_token_client_inactive' })
    await t.admin('DELETE', `/v1/resource-servers/${rs.server.id}`)
    expect(await refusal(good)).toMatchObject({ reason: 'api_token_client_inactive' })
  })

  it('refuses a forged signature: another key under Writ\'s kid, a flipped signature', async () => {
    const { kid } = decodeProtectedHeader(good)
    const { privateKey } = generateKeyPairSync('ed25519')
    const input = `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid })}.${b64(claims())}`
    const forged = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`
    expect(await refusal(forged)).toMatchObject({ reason: 'api_token_signature_invalid' })
    const [h, p, s] = good.split('.') as [string, string, string]
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BA' : 'AA'}`
    expect(await refusal(flipped)).toMatchObject({ code: 'TOKEN_INVALID' })
    const unknownKid = `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid: 'nope' })}.${b64(claims())}.${s}`
    expect(await refusal(unknownKid)).toMatchObject({ reason: 'api_token_key_unknown' })
  })

  it('refuses alg none, HMAC, another issuer, garbage and an oversized token', async () => {
    const [, p] = good.split('.') as [string, string, string]
    expect(await refusal(`${b64({ alg: 'none', typ: 'at+jwt' })}.${p}.`)).toMatchObject({ reason: expect.stringMatching(/^api_token_malformed/) })
    expect(await refusal(`${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'k' })}.${p}.AAAA`)).toMatchObject({ reason: expect.stringMatching(/^api_token_malformed/) })
    expect(await refusal(await signed({ ...claims(), iss: 'https://evil.example' }))).toMatchObject({ reason: 'api_token_iss_invalid' })
    expect(await refusal('not-a-token')).toMatchObject({ code: 'TOKEN_INVALID' })
    expect(await refusal('a'.repeat(100_000))).toMatchObject({ code: 'TOKEN_INVALID' })
  })

  it('refuses a token without the required scope', async () => {
    expect(await refusal(await signed({ ...claims(), scope: 'writ:other' }))).toMatchObject({ code: 'TOKEN_SCOPE_MISMATCH' })
    const { scope: _scope, ...noScope } = claims()
    expect(await refusal(await signed(noScope))).toMatchObject({ code: 'TOKEN_SCOPE_MISMATCH' })
  })

  it('refuses a DPoP-bound token presented without a proof of its key', async () => {
    const bound = await signed({ ...claims(), cnf: { jkt: 'thumbprint-1' } })
    expect(await refusal(bound)).toMatchObject({ reason: 'api_token_dpop_binding' })
    expect(await refusal(bound, 'writ:revocations', { dpopJkt: 'thumbprint-2' })).toMatchObject({ reason: 'api_token_dpop_binding' })
    expect(await refusal(bound, 'writ:revocations', { dpopJkt: 'thumbprint-1' })).toBeUndefined()
  })
})
