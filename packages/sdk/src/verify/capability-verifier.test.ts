import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WritError } from '../errors/writ-error.js'
import type { CapabilityClaims } from '../wire/profile.js'
import {
  AUDIENCE, ISSUER, NOW, capabilityClaims, generateTestKey, signCapability, startLoopback, type LoopbackServer,
} from './capability-token.fixture.js'
import { CALLER_CHECKS_SCOPE, createCapabilityVerifier, type CapabilityVerifierOptions, type ExpectedCapability } from './capability-verifier.js'
import { EXPECTED, HOSTILE_ROWS, REVOKED_JTIS, type HostileContext } from './hostile-tokens.fixture.js'

const REJECTION_CODES = ['TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'TOKEN_TOO_LARGE', 'TOKEN_SCOPE_MISMATCH', 'KEY_NOT_FOUND']

const ours = generateTestKey('Ed25519', 'writ-2025-01')
const ec = generateTestKey('P-256', 'writ-ec')
const attacker = generateTestKey('Ed25519', 'writ-2025-01')
const leaky = generateTestKey('Ed25519', 'leaky')
const jwksKeys = [
  ours.publicJwk,
  ec.publicJwk,
  { kty: 'oct', kid: 'hmac', k: Buffer.from(ours.publicJwk.x!, 'base64url').toString('base64url') },
  { ...leaky.privateKey.export({ format: 'jwk' }), kid: 'leaky' },
  { ...generateTestKey('Ed25519', 'twice').publicJwk },
  { ...generateTestKey('Ed25519', 'twice').publicJwk },
]

const hookCalls: Array<[string, string]> = []
const isRevoked = (iss: string, jti: string) => {
  hookCalls.push([iss, jti])
  return REVOKED_JTIS.has(jti)
}

let jwks: LoopbackServer
let floodJwks: LoopbackServer
let attackerListener: LoopbackServer
let ctx: HostileContext
const battery = { tokens: 0, accepted: 0 }

function remoteOptions(server: LoopbackServer, overrides: Partial<CapabilityVerifierOptions> = {}): CapabilityVerifierOptions {
  return { issuer: ISSUER, audience: AUDIENCE, jwks: new URL(`${server.url}/jwks`), now: () => NOW, isRevoked, ...overrides }
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (error: unknown) => error)
}

beforeAll(async () => {
  jwks = await startLoopback(() => ({ status: 200, body: { keys: jwksKeys } }))
  floodJwks = await startLoopback(() => ({ status: 200, body: { keys: [ours.publicJwk] } }))
  attackerListener = await startLoopback(() => ({ status: 200, body: { keys: [attacker.publicJwk] } }))
  ctx = {
    ours, ec, attacker,
    verifier: createCapabilityVerifier(remoteOptions(jwks)),
    mixedVerifier: createCapabilityVerifier(remoteOptions(jwks, { algorithms: ['EdDSA', 'ES256'] })),
    floodVerifier: () => createCapabilityVerifier(remoteOptions(floodJwks)),
    attackerUrl: attackerListener.url,
  }
})

afterAll(async () => {
  await Promise.all([jwks.close(), floodJwks.close(), attackerListener.close()])
})

describe('createCapabilityVerifier under the hostile battery', () => {
  it.each(HOSTILE_ROWS.map((row) => ({ ...row, label: `${row.id} rejects ${row.name}` })))('$label', async (row) => {
    const verifier = row.verifier?.(ctx) ?? ctx.verifier
    const tokens = await row.tokens(ctx)
    const hookCallsBefore = hookCalls.length
    const errors = await Promise.all(tokens.map((token) => rejectionOf(verifier.verify(token, row.expected ?? EXPECTED))))
    battery.tokens += tokens.length
    for (const error of errors) {
      if (error === undefined) battery.accepted++
      expect(error).toBeInstanceOf(WritError)
      const { code, reasons } = error as WritError
      expect(REJECTION_CODES).toContain(code)
      if (row.code !== undefined) expect(code).toBe(row.code)
      if (row.reason !== undefined) expect(reasons).toContain(row.reason)
    }
    if (row.hookCalls !== undefined) expect(hookCalls.length - hookCallsBefore).toBe(row.hookCalls)
  })

  it('accepted none of the battery tokens', () => {
    console.log(`hostile battery: ${HOSTILE_ROWS.length} rows, ${battery.tokens} tokens, ${battery.accepted} accepted`)
    expect(battery.tokens).toBeGreaterThan(1100)
    expect(battery.accepted).toBe(0)
  })

  it('let the jku and x5u listener see no request at all (JWT-07)', () => {
    expect(attackerListener.requests).toBe(0)
  })

  it('fetched the JWKS at most twice for the 1,000-token unknown-kid flood (JWT-10)', () => {
    expect(floodJwks.requests).toBeGreaterThan(0)
    expect(floodJwks.requests).toBeLessThanOrEqual(2)
  })
})

describe('createCapabilityVerifier on honest tokens', () => {
  it('accepts a valid token and returns its claims, action, header and kid', async () => {
    const result = await ctx.verifier.verify(await signCapability(ours), EXPECTED)
    expect(result.claims).toEqual(capabilityClaims())
    expect(result.action).toEqual({ type: 'writ_action', action: 'deploy.run', resource: 'service:billing', parameters: { ref: 'v1.2.3' } })
    expect(result.header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: 'writ-2025-01' })
    expect(result.kid).toBe('writ-2025-01')
  })

  it('accepts exp one second inside the leeway and iat and nbf at the leeway (JWT-12, JWT-13)', async () => {
    await expect(ctx.verifier.verify(await signCapability(ours, capabilityClaims({ iat: NOW - 329, exp: NOW - 29 })), EXPECTED)).resolves.toBeDefined()
    await expect(ctx.verifier.verify(await signCapability(ours, capabilityClaims({ iat: NOW + 30, nbf: NOW + 30, exp: NOW + 330 })), EXPECTED)).resolves.toBeDefined()
  })

  it('accepts an aud array naming us, the application/ typ form, an act chain 8 deep and a 15 min lifetime', async () => {
    let act: Record<string, unknown> = { sub: 'a0' }
    for (let i = 1; i < 8; i++) act = { sub: `a${i}`, act }
    const claims = capabilityClaims({ aud: ['https://other.example', AUDIENCE], act, exp: NOW + 900, parent: 'jti-0' })
    const result = await ctx.verifier.verify(await signCapability(ours, claims, { typ: 'application/at+jwt' }), EXPECTED)
    expect(result.claims.act?.sub).toBe('a7')
  })

  it('accepts ES256 and the Ed25519 algorithm name only when configured', async () => {
    const es256 = await signCapability(ec)
    await expect(ctx.mixedVerifier.verify(es256, EXPECTED)).resolves.toBeDefined()
    const fullySpecified = await signCapability(ours, capabilityClaims(), { alg: 'Ed25519' })
    await expect(rejectionOf(ctx.verifier.verify(fullySpecified, EXPECTED))).resolves.toMatchObject({ reasons: ['alg_not_allowed'] })
    const verifier = createCapabilityVerifier(remoteOptions(jwks, { algorithms: ['Ed25519'] }))
    await expect(verifier.verify(fullySpecified, EXPECTED)).resolves.toBeDefined()
  })

  it('works from a static key set and several audiences', async () => {
    const verifier = createCapabilityVerifier({ issuer: ISSUER, audience: ['https://x.example', AUDIENCE], jwks: { keys: jwksKeys }, now: () => NOW })
    await expect(verifier.verify(await signCapability(ours), EXPECTED)).resolves.toBeDefined()
    await expect(rejectionOf(verifier.verify(await signCapability(ours, capabilityClaims(), { kid: 'leaky' }), EXPECTED))).resolves.toMatchObject({ code: 'KEY_NOT_FOUND' })
  })

  it('asks the revocation hook with (iss, jti) and the claims, and waits for an async answer', async () => {
    const seen: Array<[string, string, CapabilityClaims]> = []
    const verifier = createCapabilityVerifier(remoteOptions(jwks, {
      isRevoked: async (iss, jti, claims) => {
        seen.push([iss, jti, claims])
        return jti === 'jti-gone'
      },
    }))
    await verifier.verify(await signCapability(ours), EXPECTED)
    expect(seen[0]?.slice(0, 2)).toEqual([ISSUER, 'jti-0001'])
    await expect(rejectionOf(verifier.verify(await signCapability(ours, capabilityClaims({ jti: 'jti-gone' })), EXPECTED))).resolves.toMatchObject({ code: 'TOKEN_REVOKED' })
  })

  it('gives the revocation hook the verified header, so a revoked signing key (kid) can refuse its tokens', async () => {
    const verifier = createCapabilityVerifier(remoteOptions(jwks, { isRevoked: (_iss, _jti, _claims, header) => header.kid === 'writ-2025-01' }))
    const error = await rejectionOf(verifier.verify(await signCapability(ours), EXPECTED))
    expect(error).toMatchObject({ code: 'TOKEN_REVOKED' })
  })

  it('surfaces a stale revocation list as REVOCATION_STALE (503), from a synchronous or an async hook', async () => {
    const stale = (): never => { throw new WritError('REVOCATION_STALE', 'no heartbeat from the revocation stream for 10 s') }
    for (const hook of [stale, async () => stale()]) {
      const verifier = createCapabilityVerifier(remoteOptions(jwks, { isRevoked: hook }))
      const error = await rejectionOf(verifier.verify(await signCapability(ours), EXPECTED))
      expect(error).toMatchObject({ code: 'REVOCATION_STALE', status: 503, oauthError: 'temporarily_unavailable' })
    }
  })

  it('fails closed when the revocation hook throws', async () => {
    for (const hook of [() => { throw new Error('store down') }, () => Promise.reject(new Error('store down'))]) {
      const verifier = createCapabilityVerifier(remoteOptions(jwks, { isRevoked: hook }))
      const error = await rejectionOf(verifier.verify(await signCapability(ours), EXPECTED))
      expect(error).toMatchObject({ code: 'INTERNAL', reasons: ['revocation_check_failed'] })
    }
  })
})

describe('createCapabilityVerifier expectations', () => {
  it('accepts a token for exactly the expected action and resource, and says which of the two did not match otherwise', async () => {
    const token = await signCapability(ours)
    await expect(ctx.verifier.verify(token, { action: 'deploy.run', resource: 'service:billing' })).resolves.toBeDefined()
    await expect(rejectionOf(ctx.verifier.verify(token, { action: 'deploy.run', resource: 'service:payments' })))
      .resolves.toMatchObject({ code: 'TOKEN_SCOPE_MISMATCH', status: 403, reasons: ['resource_mismatch'] })
    const error = await rejectionOf(ctx.verifier.verify(token, { action: 'db.drop', resource: 'service:billing' }))
    expect(error).toMatchObject({ code: 'TOKEN_SCOPE_MISMATCH', reasons: ['action_mismatch'] })
    expect((error as WritError).toOAuth().error).toBe('insufficient_scope')
  })

  it('refuses to verify without an expectation, before reading the token', async () => {
    const token = await signCapability(ours)
    const missing: unknown[] = [undefined, null, 'deploy.run', {}, { action: 'deploy.run' }, { resource: 'service:billing' }, { action: '', resource: 'service:billing' }, { action: 'deploy.run', resource: 7 }]
    for (const expected of missing) {
      const verify = ctx.verifier.verify as (token: string, expected: unknown) => Promise<unknown>
      await expect(rejectionOf(verify(token, expected))).resolves.toBeInstanceOf(TypeError)
    }
    const hookCallsBefore = hookCalls.length
    await expect(rejectionOf((ctx.verifier.verify as (token: string) => Promise<unknown>)(token))).resolves.toBeInstanceOf(TypeError)
    expect(hookCalls.length).toBe(hookCallsBefore)
  })

  it('treats an expectation parsed from JSON as an expectation, never as the escape hatch', async () => {
    const token = await signCapability(ours, capabilityClaims({ authorization_details: [{ type: 'writ_action', action: 'db.drop', resource: 'db:users' }] }))
    const forged = JSON.parse('{"action":"deploy.run","resource":"service:billing","CALLER_CHECKS_SCOPE":true}') as ExpectedCapability
    await expect(rejectionOf(ctx.verifier.verify(token, forged))).resolves.toMatchObject({ code: 'TOKEN_SCOPE_MISMATCH' })
  })

  it('lets a gateway that passes CALLER_CHECKS_SCOPE read the action from the token, with every other check still applied', async () => {
    const token = await signCapability(ours, capabilityClaims({ authorization_details: [{ type: 'writ_action', action: 'db.drop', resource: 'db:users' }] }))
    const { action } = await ctx.verifier.verify(token, CALLER_CHECKS_SCOPE)
    expect(action).toMatchObject({ action: 'db.drop', resource: 'db:users' })
    const otherAudience = await signCapability(ours, capabilityClaims({ aud: 'https://other.example' }))
    await expect(rejectionOf(ctx.verifier.verify(otherAudience, CALLER_CHECKS_SCOPE))).resolves.toMatchObject({ reasons: ['aud_mismatch'] })
    const revoked = await signCapability(ours, capabilityClaims({ jti: 'jti-revoked' }))
    await expect(rejectionOf(ctx.verifier.verify(revoked, CALLER_CHECKS_SCOPE))).resolves.toMatchObject({ code: 'TOKEN_REVOKED' })
  })
})

describe('createCapabilityVerifier with a remote JWKS', () => {
  it('takes the JWKS URL as a string', async () => {
    const server = await startLoopback(() => ({ status: 200, body: { keys: [ours.publicJwk] } }))
    const verifier = createCapabilityVerifier(remoteOptions(server, { jwks: `${server.url}/jwks` }))
    await expect(verifier.verify(await signCapability(ours), EXPECTED)).resolves.toBeDefined()
    expect(server.requests).toBe(1)
    await server.close()
  })

  it('fetches the key set once for many verifications', async () => {
    const server = await startLoopback(() => ({ status: 200, body: { keys: [ours.publicJwk] } }))
    const verifier = createCapabilityVerifier(remoteOptions(server))
    const token = await signCapability(ours)
    await Promise.all(Array.from({ length: 50 }, () => verifier.verify(token, EXPECTED)))
    await verifier.verify(token, EXPECTED)
    expect(server.requests).toBe(1)
    await server.close()
  })

  it('answers JWKS_UNAVAILABLE when the key set cannot be fetched or parsed, and backs off after a failure', async () => {
    const failing = await startLoopback(() => ({ status: 500, body: { error: 'boom' } }))
    const garbage = await startLoopback(() => ({ status: 200, body: { nope: true } }))
    const token = await signCapability(ours)
    for (const server of [failing, garbage]) {
      const verifier = createCapabilityVerifier(remoteOptions(server))
      for (let i = 0; i < 10; i++) {
        await expect(rejectionOf(verifier.verify(token, EXPECTED))).resolves.toMatchObject({ code: 'JWKS_UNAVAILABLE' })
      }
      expect(server.requests).toBe(1)
      await server.close()
    }
    const unreachable = createCapabilityVerifier(remoteOptions(failing))
    await expect(rejectionOf(unreachable.verify(token, EXPECTED))).resolves.toMatchObject({ code: 'JWKS_UNAVAILABLE' })
  })

  it('picks up a rotated key only after the 30 s cooldown', async () => {
    const next = generateTestKey('Ed25519', 'writ-2025-02')
    let keys = [ours.publicJwk]
    const server = await startLoopback(() => ({ status: 200, body: { keys } }))
    const verifier = createCapabilityVerifier(remoteOptions(server))
    await verifier.verify(await signCapability(ours), EXPECTED)
    keys = [ours.publicJwk, next.publicJwk]
    const rotated = await signCapability(next)
    await expect(rejectionOf(verifier.verify(rotated, EXPECTED))).resolves.toMatchObject({ code: 'KEY_NOT_FOUND' })
    expect(server.requests).toBe(1)
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 31_000)
      await expect(verifier.verify(rotated, EXPECTED)).resolves.toBeDefined()
      expect(server.requests).toBe(2)
    } finally {
      vi.useRealTimers()
      await server.close()
    }
  })
})

describe('createCapabilityVerifier options', () => {
  const base: CapabilityVerifierOptions = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [ours.publicJwk] } }

  it('refuses unsafe or malformed options with a TypeError', () => {
    const bad: Array<Partial<CapabilityVerifierOptions>> = [
      { leewaySeconds: 61 }, { leewaySeconds: -1 }, { leewaySeconds: Number.NaN }, { maxLifetimeSeconds: 901 }, { maxLifetimeSeconds: 0 },
      { algorithms: ['HS256'] }, { algorithms: ['none'] }, { algorithms: [] }, { algorithms: ['EdDSA', 'RS256'] },
      { issuer: '' }, { audience: [] }, { audience: '' }, { audience: undefined as unknown as string }, { audience: [AUDIENCE, ''] },
      { jwks: new URL('http://keys.example/jwks') }, { jwks: 'http://keys.example/jwks' }, { jwks: '/jwks' }, { jwks: 'not a url' },
      { jwks: { keys: 'x' } as unknown as CapabilityVerifierOptions['jwks'] },
      { isRevoked: 'yes' as unknown as CapabilityVerifierOptions['isRevoked'] },
    ]
    for (const overrides of bad) expect(() => createCapabilityVerifier({ ...base, ...overrides })).toThrow(TypeError)
  })

  it('accepts a leeway of 60 s, a shorter lifetime cap and https or loopback JWKS URLs', () => {
    for (const overrides of [{ leewaySeconds: 60 }, { maxLifetimeSeconds: 60 }, { jwks: new URL('https://writ.example/jwks') }, { jwks: 'https://writ.example/jwks' }, { jwks: new URL('http://localhost:1/jwks') }, { jwks: 'http://127.0.0.1:1/jwks' }]) {
      expect(() => createCapabilityVerifier({ ...base, ...overrides })).not.toThrow()
    }
  })

  it('applies a shorter lifetime cap', async () => {
    const verifier = createCapabilityVerifier({ ...base, maxLifetimeSeconds: 120, now: () => NOW })
    await expect(rejectionOf(verifier.verify(await signCapability(ours), EXPECTED))).resolves.toMatchObject({ reasons: ['lifetime_too_long'] })
  })
})
