/** RFC 9449 at the token endpoint: binding, token_type, replay, required proofs, and the hostile battery (DPOP- rows). */
import { createHmac, generateKeyPairSync, sign as rawSign, type KeyObject } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import { createDpopKey, signDpopProof, type DpopKey } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { verifyChain } from '../audit/verify-chain.js'

const TOKEN_ENDPOINT = `${ISSUER}/oauth/token`
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function signRaw(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject, alg: 'EdDSA' | 'ES256' = 'EdDSA'): string {
  const input = `${b64(header)}.${b64(claims)}`
  const signature = alg === 'EdDSA' ? rawSign(null, Buffer.from(input), key) : rawSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

describe('DPoP at the token endpoint', () => {
  let t: TestApp
  let bot: TestAgent
  let key: DpopKey
  beforeEach(async () => {
    t = await createTestApp()
    bot = await t.register(exampleDocument('deploy-bot'))
    key = await createDpopKey()
  })
  afterEach(async () => t.close())

  const proof = (over: { htm?: string; htu?: string; now?: number } = {}) => signDpopProof(key, {
    htm: over.htm ?? 'POST', htu: over.htu ?? TOKEN_ENDPOINT, now: () => over.now ?? t.clock.nowSeconds(),
  })
  async function request(dpop: string | undefined, agent: TestAgent = bot): Promise<Response> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials', client_id: agent.agent.id,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await agent.assertion(),
      authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]),
      task_id: 'T-42',
    })
    return t.app.publicApp.request('/oauth/token', {
      method: 'POST', body: body.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop !== undefined ? { dpop } : {}) },
    })
  }
  const refusal = async (response: Response) => ({ status: response.status, body: await response.json() as Record<string, unknown> })

  it('binds the token to the proof key: cnf.jkt is its RFC 7638 thumbprint and token_type is DPoP', async () => {
    const response = await request(await proof())
    expect(response.status).toBe(200)
    const body = await response.json() as { access_token: string; token_type: string }
    expect(body.token_type).toBe('DPoP')
    expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt })
    const [issue] = await t.storage.audit.tail(1)
    expect(issue).toMatchObject({ type: 'token.issue', data: { cnf_jkt: key.jkt } })
    expect(JSON.stringify(issue)).not.toContain(body.access_token.split('.')[2])
    expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
  })

  it('issues a Bearer token without cnf when no proof is sent', async () => {
    const body = await (await request(undefined)).json() as { access_token: string; token_type: string }
    expect(body.token_type).toBe('Bearer')
    expect(decodeJwt(body.access_token).cnf).toBeUndefined()
  })

  it('publishes dpop_signing_alg_values_supported', async () => {
    const metadata = await (await t.app.publicApp.request('/.well-known/oauth-authorization-server')).json()
    expect(metadata).toMatchObject({ dpop_signing_alg_values_supported: ['EdDSA', 'ES256'] })
  })

  it('accepts a P-256 proof and an htu with another host case, the default port, a query and a fragment', async () => {
    key = await createDpopKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)
    const p256 = await request(await proof())
    expect(p256.status).toBe(200)
    const jws = signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk },
      { htm: 'POST', htu: 'HTTP://WRIT.test:80/oauth/token?x=1#f', iat: t.clock.nowSeconds(), jti: 'normalised' }, key.privateKey, 'ES256')
    expect((await request(jws)).status).toBe(200)
  })

  it('DPOP-11: a proof is accepted once; its jti is stored under the key thumbprint in the replay store', async () => {
    const once = await proof()
    expect((await request(once)).status).toBe(200)
    const again = await refusal(await request(once))
    expect(again).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof', writ_code: 'DPOP_PROOF_INVALID', reasons: ['dpop_proof_replayed'] } })
    const rows = await t.storage.db.selectFrom('used_assertions').selectAll().where('client_id', '=', `dpop:${key.jkt}`).execute()
    expect(rows).toHaveLength(1)
    // Pruned by the same maintenance as assertion jtis, once the proof is outside its window.
    await t.storage.prune(t.clock.nowMs() + 62_000)
    expect(await t.storage.db.selectFrom('used_assertions').selectAll().where('client_id', '=', `dpop:${key.jkt}`).execute()).toHaveLength(0)
  })

  it('DPOP-11: of 20 concurrent uses of one proof exactly one wins', async () => {
    const once = await proof()
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => (await request(once)).status))
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 400)).toHaveLength(19)
  })

  it('a bad proof spends the assertion and is audited with its reason, never the proof', async () => {
    const bad = await proof({ htm: 'GET' })
    const response = await refusal(await request(bad))
    expect(response).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof', reasons: ['dpop_htm_mismatch'] } })
    const [last] = await t.storage.audit.tail(1)
    expect(last).toMatchObject({ type: 'token.deny', decision: { reasons: ['dpop_htm_mismatch'] } })
    expect(JSON.stringify(last)).not.toContain(bad.split('.')[2])
  })

  it('an agent whose document sets require_dpop is refused without a proof, and served with one', async () => {
    const strict = await t.register({ ...exampleDocument('deploy-bot'), name: 'strict-bot', require_dpop: true })
    expect(await refusal(await request(undefined, strict))).toMatchObject({ status: 400, body: { reasons: ['dpop_proof_required'] } })
    expect((await request(await proof(), strict)).status).toBe(200)
  })

  it('tokens.requireDpop refuses every agent that sends no proof', async () => {
    await t.close()
    t = await createTestApp({ config: { tokens: { requireDpop: true } } })
    bot = await t.register(exampleDocument('deploy-bot'))
    expect(await refusal(await request(undefined))).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof', reasons: ['dpop_proof_required'] } })
    expect((await request(await proof())).status).toBe(200)
  })

  it('binds the token redeemed by a CIBA poll to the proof sent with the poll', async () => {
    const held = await t.requestCapability(bot, 'deploy.run', 'service:billing')
    const { auth_req_id: authReqId } = await held.json() as { auth_req_id: string }
    expect(authReqId).toBeTruthy()
    const approver = await t.admin('POST', '/v1/admins', { name: 'rm@example.com', roles: ['release-manager'] })
    expect(approver.status).toBeLessThan(300)
    const { credential } = await approver.json() as { credential: string }
    const decided = await t.app.adminApp.request(`/v1/approvals/${authReqId}/approve`, {
      method: 'POST', headers: { authorization: `Bearer ${credential}` },
    })
    expect(decided.status).toBe(200)
    const body = new URLSearchParams({
      grant_type: 'urn:openid:params:grant-type:ciba', auth_req_id: authReqId, client_id: bot.agent.id,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await bot.assertion(),
    })
    const response = await t.app.publicApp.request('/oauth/token', {
      method: 'POST', body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await proof() },
    })
    expect(response.status).toBe(200)
    const token = await response.json() as { access_token: string; token_type: string }
    expect(token.token_type).toBe('DPoP')
    expect(decodeJwt(token.access_token).cnf).toEqual({ jkt: key.jkt })
  })

  describe('hostile proofs (RFC 9449 §4.3): none is accepted and nothing is issued', () => {
    const now = () => t.clock.nowSeconds()
    const claims = (over: Record<string, unknown> = {}) => ({ htm: 'POST', htu: TOKEN_ENDPOINT, iat: now(), jti: crypto.randomUUID(), ...over })
    const header = (over: Record<string, unknown> = {}) => ({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: key.publicJwk, ...over })
    const cases: Array<[string, () => string | Promise<string>, string]> = [
      ['DPOP-02 not a JWS', () => 'not-a-proof', 'dpop_malformed_compact'],
      ['DPOP-01 two proofs in one header', async () => `${await proof()}, ${await proof()}`, 'dpop_header_repeated'],
      ['DPOP-03 typ JWT', () => signRaw(header({ typ: 'JWT' }), claims(), key.privateKey), 'dpop_typ_mismatch'],
      ['DPOP-03 no typ', () => signRaw(header({ typ: undefined }), claims(), key.privateKey), 'dpop_typ_mismatch'],
      ['DPOP-03 an access token typ', () => signRaw(header({ typ: 'at+jwt' }), claims(), key.privateKey), 'dpop_typ_mismatch'],
      ['DPOP-04 alg none', () => `${b64(header({ alg: 'none' }))}.${b64(claims())}.`, 'dpop_alg_not_allowed'],
      ['DPOP-04 HS256 with a symmetric jwk', () => {
        const secret = Buffer.alloc(32, 7)
        const input = `${b64(header({ alg: 'HS256', jwk: { kty: 'oct', k: secret.toString('base64url') } }))}.${b64(claims())}`
        return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
      }, 'dpop_alg_not_allowed'],
      ['DPOP-04 EdDSA over a symmetric jwk', () => signRaw(header({ jwk: { kty: 'oct', k: 'AAAA' } }), claims(), key.privateKey), 'dpop_key_type_unsupported'],
      ['DPOP-04 ES256 with an Ed25519 key', () => signRaw(header({ alg: 'ES256' }), claims(), key.privateKey), 'dpop_alg_key_mismatch'],
      ['DPOP-05 signed by another key', () => signRaw(header(), claims(), generateKeyPairSync('ed25519').privateKey), 'dpop_signature_invalid'],
      ['DPOP-05 claims of one proof with the signature of another', async () => {
        const [h] = (await proof()).split('.')
        return `${h}.${b64(claims())}.${(await proof()).split('.')[2]}`
      }, 'dpop_signature_invalid'],
      ['DPOP-06 private key in the header', () => signRaw(header({ jwk: key.privateKey.export({ format: 'jwk' }) }), claims(), key.privateKey), 'dpop_jwk_private'],
      ['DPOP-06 no jwk', () => signRaw(header({ jwk: undefined }), claims(), key.privateKey), 'dpop_header_jwk_missing'],
      ['DPOP-06 jku instead of jwk', () => signRaw(header({ jku: 'http://127.0.0.1/jwks' }), claims(), key.privateKey), 'dpop_header_jku_forbidden'],
      ['DPOP-07 htm GET', () => signRaw(header(), claims({ htm: 'GET' }), key.privateKey), 'dpop_htm_mismatch'],
      ['DPOP-07 htm post in lower case', () => signRaw(header(), claims({ htm: 'post' }), key.privateKey), 'dpop_htm_mismatch'],
      ['DPOP-08 htu of another host', () => signRaw(header(), claims({ htu: 'http://evil.test/oauth/token' }), key.privateKey), 'dpop_htu_mismatch'],
      ['DPOP-08 htu of another path', () => signRaw(header(), claims({ htu: `${ISSUER}/oauth/token/` }), key.privateKey), 'dpop_htu_mismatch'],
      ['DPOP-08 htu of another scheme', () => signRaw(header(), claims({ htu: 'https://writ.test/oauth/token' }), key.privateKey), 'dpop_htu_mismatch'],
      ['DPOP-08 htu of another port', () => signRaw(header(), claims({ htu: 'http://writ.test:8080/oauth/token' }), key.privateKey), 'dpop_htu_mismatch'],
      ['DPOP-08 htu missing', () => signRaw(header(), claims({ htu: undefined }), key.privateKey), 'dpop_htu_mismatch'],
      ['DPOP-10 iat 61 s old', () => signRaw(header(), claims({ iat: now() - 61 }), key.privateKey), 'dpop_iat_too_old'],
      ['DPOP-10 iat 31 s in the future', () => signRaw(header(), claims({ iat: now() + 31 }), key.privateKey), 'dpop_iat_in_future'],
      ['DPOP-10 iat a string', () => signRaw(header(), claims({ iat: String(now()) }), key.privateKey), 'dpop_iat_invalid'],
      ['jti missing', () => signRaw(header(), claims({ jti: undefined }), key.privateKey), 'dpop_jti_invalid'],
      ['jti of 257 characters', () => signRaw(header(), claims({ jti: 'j'.repeat(257) }), key.privateKey), 'dpop_jti_invalid'],
      ['DPOP-15 an access token as the proof', async () => {
        const issued = await (await request(undefined)).json() as { access_token: string }
        return issued.access_token
      }, 'dpop_typ_mismatch'],
    ]
    it.each(cases)('%s', async (_name, make, reason) => {
      const hostile = await make()
      const before = await t.storage.tokens.countIssued()
      const response = await refusal(await request(hostile))
      expect(response).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof', writ_code: 'DPOP_PROOF_INVALID', reasons: [reason] } })
      expect(await t.storage.tokens.countIssued()).toBe(before)
    })
  })
})
