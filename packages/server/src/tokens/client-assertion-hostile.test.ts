/** Hostile-input battery for client assertions (docs/threats.md JWT- and TX-10 rows): 0 accepted, 0 issued, no outbound call. */
import { createHmac, createPrivateKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

describe('client assertion hostile battery', () => {
  let t: TestApp
  let bot: TestAgent
  let agentKey: KeyObject
  let listener: Server
  let listenerHits = 0
  let listenerUrl: string

  beforeAll(async () => {
    t = await createTestApp()
    bot = await t.register(exampleDocument('deploy-bot'))
    agentKey = createPrivateKey({ key: bot.privateJwk, format: 'jwk' })
    listener = createHttpServer((_, res) => { listenerHits++; res.end('{}') })
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r))
    listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/jwks`
  })
  afterAll(async () => { await t.close(); listener.close() })

  const now = () => t.clock.nowSeconds()
  const claims = (over: Record<string, unknown> = {}) => ({
    iss: bot.agent.id, sub: bot.agent.id, aud: ISSUER, jti: crypto.randomUUID(), iat: now(), exp: now() + 60, ...over,
  })
  const header = (over: Record<string, unknown> = {}) => ({ alg: 'EdDSA', typ: 'JWT', kid: bot.privateJwk.kid, ...over })
  const signEd = (h: unknown, c: unknown, key: KeyObject = agentKey) => {
    const input = `${b64(h)}.${b64(c)}`
    return `${input}.${edSign(null, Buffer.from(input), key).toString('base64url')}`
  }
  const signHs = (h: unknown, c: unknown, secret: Buffer | string) => {
    const input = `${b64(h)}.${b64(c)}`
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
  }
  const publicRaw = () => Buffer.from(bot.agent.document.jwks.keys[0]?.x as string, 'base64url')

  const cases: Array<[string, () => string | Promise<string>]> = [
    ['JWT-01 alg none', () => `${b64(header({ alg: 'none' }))}.${b64(claims())}.`],
    ['JWT-01 alg None with a signature', () => `${b64(header({ alg: 'None' }))}.${b64(claims())}.AAAA`],
    ['JWT-02 empty signature with EdDSA', () => `${b64(header())}.${b64(claims())}.`],
    ['JWT-03 signature cut short', () => signEd(header(), claims()).slice(0, -4)],
    ['JWT-04 HS256 keyed with the raw public key', () => signHs(header({ alg: 'HS256' }), claims(), publicRaw())],
    ['JWT-04 HS256 keyed with the x string', () => signHs(header({ alg: 'HS256' }), claims(), bot.agent.document.jwks.keys[0]?.x as string)],
    ['JWT-05 HS256 with a blank secret', () => signHs(header({ alg: 'HS256' }), claims(), '')],
    ['JWT-06 embedded jwk with the attacker key', () => {
      const attacker = generateKeyPairSync('ed25519')
      return signEd(header({ jwk: attacker.publicKey.export({ format: 'jwk' }) }), claims(), attacker.privateKey)
    }],
    ['JWT-07 jku to a loopback listener', () => signEd(header({ jku: listenerUrl }), claims())],
    ['JWT-07 x5u to a loopback listener', () => signEd(header({ x5u: listenerUrl }), claims())],
    ['JWT-09 kid path traversal', () => signEd(header({ kid: '../../../../dev/null' }), claims())],
    ['JWT-09 kid SQL injection', () => signEd(header({ kid: "x' UNION SELECT '1';--" }), claims())],
    ['JWT-09 kid of 10 KB', () => signEd(header({ kid: 'k'.repeat(10_000) }), claims())],
    ['signed by a key the agent never registered', () => signEd(header(), claims(), generateKeyPairSync('ed25519').privateKey)],
    ['JWT-12 expired beyond leeway', () => signEd(header(), claims({ iat: now() - 200, exp: now() - 31 }))],
    ['JWT-12 exp missing', () => signEd(header(), claims({ exp: undefined }))],
    ['JWT-13 nbf in the future', () => signEd(header(), claims({ nbf: now() + 120 }))],
    ['JWT-13 iat in the future', () => signEd(header(), claims({ iat: now() + 120, exp: now() + 180 }))],
    ['lifetime over 5 minutes', () => signEd(header(), claims({ exp: now() + 301 }))],
    ['JWT-15 aud missing', () => signEd(header(), claims({ aud: undefined }))],
    ['JWT-15 aud of another server', () => signEd(header(), claims({ aud: 'https://elsewhere.example' }))],
    ['JWT-15 aud array with a foreign member', () => signEd(header(), claims({ aud: [ISSUER, 'https://elsewhere.example'] }))],
    ['JWT-16 aud with a trailing slash', () => signEd(header(), claims({ aud: `${ISSUER}/` }))],
    ['iss and sub differ', () => signEd(header(), claims({ sub: 'someone-else' }))],
    ['JWT-17 an access token typ', () => signEd(header({ typ: 'at+jwt' }), claims())],
    ['JWT-17 a DPoP proof typ', () => signEd(header({ typ: 'dpop+jwt' }), claims())],
    ['JWT-18 crit with an unknown extension', () => signEd(header({ crit: ['exp'] }), claims())],
    ['JWT-19 b64 false', () => signEd(header({ b64: false, crit: ['b64'] }), claims())],
    ['JWT-20 JSON serialization', async () => JSON.stringify({ protected: b64(header()), payload: b64(claims()), signature: 'AAAA' })],
    ['JWT-21 nested cty JWT', () => signEd(header({ cty: 'JWT' }), claims())],
    ['JWT-22 duplicate alg member', () => {
      const h = `{"alg":"EdDSA","typ":"JWT","kid":"${bot.privateJwk.kid as string}","alg":"EdDSA"}`
      const input = `${Buffer.from(h).toString('base64url')}.${b64(claims())}`
      return `${input}.${edSign(null, Buffer.from(input), agentKey).toString('base64url')}`
    }],
    ['JWT-23 invalid UTF-8 in claims', () => {
      const input = `${b64(header())}.${Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url')}`
      return `${input}.${edSign(null, Buffer.from(input), agentKey).toString('base64url')}`
    }],
    ['JWT-24 base64 padding added', () => `${signEd(header(), claims())}=`],
    ['JWT-24 whitespace inside', () => { const s = signEd(header(), claims()); return `${s.slice(0, 10)} ${s.slice(10)}` }],
    ['JWT-24 flipped unused low bits in the signature', () => {
      const s = signEd(header(), claims())
      const last = s.at(-1) as string
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      return s.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1]
    }],
    ['JWT-25 assertion over 8 KiB', () => signEd(header(), claims({ pad: 'x'.repeat(9_000) }))],
    ['JWT-26 exp as a string', () => signEd(header(), claims({ exp: String(now() + 60) }))],
    ['JWT-26 exp as a float', () => signEd(header(), claims({ exp: now() + 60.5 }))],
    ['JWT-26 jti as a number', () => signEd(header(), claims({ jti: 7 }))],
    ['JWT-26 iss null', () => signEd(header(), claims({ iss: null }))],
    ['JWT-26 aud as an object', () => signEd(header(), claims({ aud: { a: ISSUER } }))],
    ['JWT-29 tampered payload', () => {
      const [h, , s] = signEd(header(), claims()).split('.')
      return `${h}.${b64(claims({ aud: 'x' }))}.${s}`
    }],
    ['ES256 algorithm for an Ed25519 key', () => signEd(header({ alg: 'ES256' }), claims())],
  ]

  it.each(cases)('rejects %s', async (_name, build) => {
    const before = await t.storage.tokens.countIssued()
    const response = await t.token({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await build(),
      authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]),
      task_id: 'T-1',
    })
    expect(response.status).toBe(401)
    const body = await response.json() as Record<string, unknown>
    expect(body.error).toBe('invalid_client')
    expect(body).not.toHaveProperty('access_token')
    expect(await t.storage.tokens.countIssued()).toBe(before)
    const [last] = await t.storage.audit.tail(1)
    expect(last?.type).toBe('client.authentication_fail')
  })

  it('accepts the same assertion shape when it is well formed (the control row)', async () => {
    const response = await t.token({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: signEd(header(), claims()),
      authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]),
      task_id: 'T-1',
    })
    expect(response.status).toBe(200)
  })

  it('accepts the RFC 9864 algorithm name Ed25519 and the token endpoint URL as aud', async () => {
    const response = await t.token({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: signEd(header({ alg: 'Ed25519' }), claims({ aud: `${ISSUER}/oauth/token` })),
      authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]),
      task_id: 'T-1',
    })
    expect(response.status).toBe(200)
  })

  it('made no outbound request for jku or x5u headers', () => {
    expect(listenerHits).toBe(0)
  })

  it('never stores an assertion or token string in the audit log', async () => {
    const rows = await t.storage.db.selectFrom('audit_events').select('record').execute()
    for (const row of rows) expect(row.record).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/)
  })
})
