import { generateKeyPairSync } from 'node:crypto'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStorage } from '../storage/open-storage.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../storage/test-database.fixture.js'
import { createTestApp, type TestApp } from '../test-app.fixture.js'
import { newKeyPair } from '../resource-servers/resource-server-test.fixture.js'
import { createJoinToken, enroll, sshEd25519Line, sshString } from './host-test.fixture.js'

const ecdsaLine = (): string => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')])
  const blob = Buffer.concat([sshString(Buffer.from('ecdsa-sha2-nistp256')), sshString(Buffer.from('nistp256')), sshString(point)])
  return `ecdsa-sha2-nistp256 ${blob.toString('base64')}`
}

describe('POST /hosts/enroll: hostile battery', () => {
  let t: TestApp
  beforeEach(async () => { t = await createTestApp() })
  afterEach(async () => t.close())

  async function valid(overrides: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const join = await createJoinToken(t)
    const { publicJwk } = await newKeyPair()
    return { join_token: join.token, name: 'web-1', client_public_key: publicJwk, ssh_host_public_key: sshEd25519Line(), ...overrides }
  }

  const rsaJwk = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' })
  const p256Jwk = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' })
  const privateJwk = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })
  const rsaSsh = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7'
  const truncated = () => sshEd25519Line().slice(0, -8)
  const wrongType = () => `ecdsa-sha2-nistp256 ${sshEd25519Line().split(' ')[1]}`
  const trailing = () => { const [, b] = sshEd25519Line().split(' '); return `ssh-ed25519 ${Buffer.concat([Buffer.from(b as string, 'base64'), Buffer.from([0, 0, 0, 0])]).toString('base64')}` }

  const cases: Array<[string, () => Record<string, unknown> | Promise<Record<string, unknown>>, number, string]> = [
    ['a private JWK (d present)', () => ({ client_public_key: privateJwk() }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['an RSA client key', () => ({ client_public_key: rsaJwk() }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['a P-256 client key (Ed25519 only)', () => ({ client_public_key: p256Jwk() }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['an Ed25519 key with a bad x', () => ({ client_public_key: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(42) } }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['an ssh-rsa host key', () => ({ ssh_host_public_key: rsaSsh }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['a truncated host key', () => ({ ssh_host_public_key: truncated() }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['a host key whose blob names another type', () => ({ ssh_host_public_key: wrongType() }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['a host key with trailing bytes', () => ({ ssh_host_public_key: trailing() }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['a host key with two lines', () => ({ ssh_host_public_key: `${sshEd25519Line()}\n${sshEd25519Line()}` }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['an uppercase name', () => ({ name: 'Web-1' }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['a name ending in a dash', () => ({ name: 'web-' }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['a 64-character name', () => ({ name: 'a'.repeat(64) }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['a name with @', () => ({ name: 'deploy@web-1' }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['labels in the body (they come from the token only)', () => ({ labels: { env: 'prod' } }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['an unknown member', () => ({ extra: 1 }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['no join token', () => ({ join_token: undefined }), 400, 'HOST_ENROLLMENT_INVALID'],
    ['a forged join token (right shape, wrong secret)', () => ({ join_token: `writ-join-${'0'.repeat(32)}.${'A'.repeat(43)}` }), 401, 'HOST_JOIN_TOKEN_INVALID'],
    ['a malformed join token', () => ({ join_token: 'writ-join-nope' }), 401, 'HOST_JOIN_TOKEN_INVALID'],
  ]

  for (const [name, overrides, status, code] of cases) {
    it(`refuses ${name}`, async () => {
      const response = await enroll(t, await valid(await overrides()))
      expect(response.status).toBe(status)
      expect(await response.json()).toMatchObject({ code })
      expect(await t.storage.hosts.list()).toEqual([])
    })
  }

  it('accepts an ecdsa-sha2-nistp256 host key', async () => {
    expect((await enroll(t, await valid({ ssh_host_public_key: ecdsaLine() }))).status).toBe(201)
  })

  it('a forged secret for a real token id, a spent token and an expired token all answer alike, audited by id only', async () => {
    const join = await createJoinToken(t)
    const [prefix] = join.token.split('.')
    const forged = await enroll(t, await valid({ join_token: `${prefix}.${'B'.repeat(43)}` }))
    const body = await valid({ join_token: join.token })
    expect((await enroll(t, body)).status).toBe(201)
    const spent = await enroll(t, { ...body, name: 'web-2' })
    const late = await createJoinToken(t, { ttl_seconds: 60 })
    t.clock.advance(60_000)
    const expired = await enroll(t, await valid({ join_token: late.token, name: 'web-3' }))
    const answers = await Promise.all([forged, spent, expired].map(async (r) => [r.status, await r.json()] as const))
    for (const [status, problem] of answers) {
      expect(status).toBe(401)
      expect(problem).toMatchObject({ code: 'HOST_JOIN_TOKEN_INVALID', detail: answers[0]?.[1].detail })
    }
    const failures = (await t.storage.audit.tail(20)).filter((r) => r.type === 'host.enroll_fail')
    expect(failures.map((r) => r.decision?.reasons[0])).toEqual(['join_token_unknown', 'join_token_spent', 'join_token_expired'])
    const all = JSON.stringify(await t.storage.db.selectFrom('audit_events').select('record').execute())
    expect(all).not.toContain(join.token.split('.')[1])
  })

  it('refuses an oversized body before reading it', async () => {
    const response = await enroll(t, JSON.stringify({ ...(await valid()), pad: 'x'.repeat(20_000) }))
    expect(response.status).toBe(413)
  })

  it('refuses a body that is not JSON', async () => {
    expect((await enroll(t, 'join_token=x', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415)
  })

  it('a concurrent double spend of one join token: exactly one host enrolls (SQLite)', async () => {
    const join = await createJoinToken(t)
    const answers = await Promise.all(Array.from({ length: 10 }, async (_, i) => enroll(t, await valid({ join_token: join.token, name: `race-${i}` }))))
    expect(answers.filter((r) => r.status === 201)).toHaveLength(1)
    expect(answers.filter((r) => r.status === 401)).toHaveLength(9)
    expect(await t.storage.hosts.list()).toHaveLength(1)
  })
})

describe('POST /hosts/enroll: the per-address rate limit', () => {
  it('takes the address bucket before reading the body: a flood is refused 429', async () => {
    const t = await createTestApp({ config: { rateLimits: { perAddress: { ratePerSecond: 0.01, burst: 2 } } }, remoteAddress: () => '192.0.2.7' })
    try {
      const statuses = []
      for (let i = 0; i < 4; i++) statuses.push((await enroll(t, { join_token: 'writ-join-x' })).status)
      expect(statuses).toEqual([400, 400, 429, 429])
    } finally {
      await t.close()
    }
  })
})

describe.skipIf(!TEST_DATABASE_URL)(describePostgres(), () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined
  afterAll(async () => database?.drop())

  it('a concurrent double spend of one join token: exactly one host enrolls (PostgreSQL)', async () => {
    database = await createTestDatabase()
    const storage = await openStorage({ driver: 'postgres', url: database.url })
    const t = await createTestApp({ storage })
    try {
      const join = await createJoinToken(t)
      const answers = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
        const { publicJwk } = await newKeyPair()
        return enroll(t, { join_token: join.token, name: `race-${i}`, client_public_key: publicJwk, ssh_host_public_key: sshEd25519Line() })
      }))
      expect(answers.map((r) => r.status).sort()).toEqual([201, ...Array(9).fill(401)])
      expect(await storage.hosts.list()).toHaveLength(1)
    } finally {
      await t.close()
    }
  })
})
