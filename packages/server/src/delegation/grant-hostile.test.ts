/** Hostile-input battery for delegation grants presented as subject_token (docs/threats.md JWT-, TX-): 0 accepted, 0 issued. */
import { createHmac, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TOKEN_TYPES } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { action, decodePayload, delegate, exchangeForCapability, mandate } from './delegation-test.fixture.js'

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

describe('delegation grant hostile battery', () => {
  let t: TestApp
  let bot: TestAgent
  let sub: TestAgent
  let listener: Server
  let listenerHits = 0
  let listenerUrl: string
  let genuine: { grant: string; jti: string }
  let claims: Record<string, unknown>
  let header: Record<string, unknown>
  const attacker: KeyObject = generateKeyPairSync('ed25519').privateKey

  beforeAll(async () => {
    t = await createTestApp()
    bot = await t.register(exampleDocument('deploy-bot'))
    sub = await t.register({ ...exampleDocument('deploy-bot'), name: 'sub-bot' })
    listener = createHttpServer((_, res) => { listenerHits++; res.end('{}') })
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r))
    listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/jwks`
    genuine = await mandate(t, bot, [action('tests.run', 'repo:acme/*')])
    claims = decodePayload(genuine.grant)
    header = JSON.parse(Buffer.from(genuine.grant.split('.')[0] as string, 'base64url').toString()) as Record<string, unknown>
  })
  afterAll(async () => { await t.close(); listener.close() })

  const signWith = (key: KeyObject, h: unknown, c: unknown) => {
    const input = `${b64(h)}.${b64(c)}`
    return `${input}.${edSign(null, Buffer.from(input), key).toString('base64url')}`
  }
  /** Signed by Writ's own key (what only a bug could produce): the row and the claims are still checked. */
  const ours = async (c: Record<string, unknown>, typ: string = TOKEN_TYPES.grant) => t.app.keys.sign(typ, c).jws
  const forged = (h: Record<string, unknown>, c: Record<string, unknown>) => signWith(attacker, h, c)
  const hs256 = (secret: string | Buffer) => {
    const input = `${b64({ ...header, alg: 'HS256' })}.${b64(claims)}`
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
  }

  const rows: Array<{ id: string; name: string; token: () => string | Promise<string>; reason?: string }> = [
    { id: 'JWT-01', name: 'alg none', token: () => `${b64({ ...header, alg: 'none' })}.${b64(claims)}.`, reason: 'grant_malformed:alg_not_allowed' },
    { id: 'JWT-03', name: 'a broken signature', token: () => genuine.grant.slice(0, -4) },
    { id: 'JWT-04', name: 'HS256 keyed with our public key', token: () => hs256(JSON.stringify(t.app.keys.jwks().keys[0])) },
    { id: 'JWT-05', name: 'a forged signature by another key, same kid', token: () => forged(header, claims), reason: 'grant_signature_invalid' },
    { id: 'JWT-06', name: "an embedded jwk with the attacker's key", token: () => forged({ ...header, jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } }, claims), reason: 'grant_malformed:header_jwk_forbidden' },
    { id: 'JWT-07', name: 'jku to a loopback listener', token: () => forged({ ...header, jku: listenerUrl }, claims), reason: 'grant_malformed:header_jku_forbidden' },
    { id: 'JWT-09', name: 'a path-traversal kid', token: () => forged({ ...header, kid: '../../../../dev/null' }, claims), reason: 'grant_key_unknown' },
    { id: 'JWT-12', name: 'an expired grant signed by us', token: () => ours({ ...claims, exp: t.clock.nowSeconds() - 120 }), reason: 'grant_expired' },
    { id: 'JWT-15', name: 'another audience', token: () => ours({ ...claims, aud: 'urn:writ:resource-server' }), reason: 'grant_aud_mismatch' },
    { id: 'JWT-16', name: 'an issuer with a trailing slash', token: () => ours({ ...claims, iss: `${ISSUER}/` }), reason: 'grant_iss_mismatch' },
    { id: 'JWT-17a', name: 'a capability token (at+jwt) as the grant', token: () => ours(claims, 'at+jwt'), reason: 'grant_malformed:typ_mismatch' },
    { id: 'JWT-17b', name: 'a DPoP proof type', token: () => ours(claims, 'dpop+jwt'), reason: 'grant_malformed:typ_mismatch' },
    { id: 'JWT-17c', name: 'a plain JWT (client assertion type)', token: () => ours(claims, 'JWT'), reason: 'grant_malformed:typ_mismatch' },
    { id: 'JWT-22', name: 'duplicate claim members', token: () => forged(header, '{"sub":"alice@example.com","sub":"root"}'), reason: 'grant_malformed:duplicate_member' },
    { id: 'JWT-24', name: 'non-canonical base64url (padding)', token: () => `${genuine.grant}=`, reason: 'grant_malformed:non_canonical_base64url' },
    { id: 'JWT-25', name: 'a grant over 8 KiB', token: () => `${genuine.grant}${'A'.repeat(9_000)}`, reason: 'grant_malformed:token_too_large' },
    { id: 'JWT-26', name: 'exp as a string', token: () => ours({ ...claims, exp: String(claims.exp) }), reason: 'grant_times_invalid' },
    { id: 'TX-unknown', name: 'a grant Writ signed but never stored', token: () => ours({ ...claims, jti: '0190aaaa-0000-7000-8000-000000000000' }), reason: 'grant_unknown' },
    { id: 'TX-mismatch', name: 'a stored jti with another may_act', token: () => ours({ ...claims, may_act: { sub: sub.agent.id } }), reason: 'grant_record_mismatch' },
    { id: 'TX-widened', name: 'a stored jti with wider claims signed by us: the row decides', token: () => ours({ ...claims, authorization_details: [action('tests.run', '*')] }) },
  ]

  for (const row of rows) {
    it(`${row.id}: refuses ${row.name}`, async () => {
      const token = await row.token()
      const issuedBefore = await t.storage.tokens.countIssued()
      const grantsBefore = (await t.storage.grants.list({ limit: 1_000 })).length
      for (const response of [
        await exchangeForCapability(t, bot, token, action('tests.run', 'repo:other/x', { actions: ['read'] })),
        await delegate(t, bot, token, 'sub-bot', [action('tests.run', 'repo:other/*')]),
      ]) {
        expect(response.status).toBeGreaterThanOrEqual(400)
        expect(response.status).toBeLessThan(500)
        const body = await response.json() as { error: string; reasons: string[] }
        expect(['invalid_grant', 'invalid_scope', 'access_denied']).toContain(body.error)
        if (row.reason) expect(body.reasons).toEqual([row.reason])
      }
      expect(await t.storage.tokens.countIssued()).toBe(issuedBefore)
      expect((await t.storage.grants.list({ limit: 1_000 })).length).toBe(grantsBefore)
      expect(listenerHits).toBe(0)
    })
  }

  it('JWT-24: a revoked grant re-encoded (flipped unused bits) is still the revoked grant', async () => {
    const victim = await mandate(t, bot, [action('tests.run', 'repo:acme/*')])
    expect((await t.admin('POST', `/v1/grants/${victim.jti}/revoke`)).status).toBe(200)
    const signature = victim.grant.split('.')[2] as string
    const last = signature.at(-1) as string
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const flipped = `${victim.grant.slice(0, -1)}${alphabet[(alphabet.indexOf(last) ^ 1) % 64]}`
    for (const token of [victim.grant, flipped]) {
      const response = await exchangeForCapability(t, bot, token, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
      expect(response.status).toBe(400)
      expect(['GRANT_REVOKED', 'GRANT_INVALID']).toContain((await response.json() as { writ_code: string }).writ_code)
    }
  })

  it('the audit log holds no grant, only its jti', async () => {
    const rows = await t.storage.db.selectFrom('audit_events').select('record').execute()
    const signature = genuine.grant.split('.')[2] as string
    for (const row of rows) expect(row.record).not.toContain(signature)
  })
})
