/** IssuerKeys over real HTTP: discovery, the issuer check, key rotation, and failing closed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jwtVerify } from 'jose'
import { WritError } from '@writ/sdk'
import { fixedClock } from '../clock.js'
import { IssuerKeys } from './issuer-keys.js'
import { startExternalIssuer, type ExternalIssuer } from './external-issuer.fixture.js'

describe('IssuerKeys', () => {
  let issuer: ExternalIssuer
  const clock = fixedClock(Date.now())
  beforeAll(async () => { issuer = await startExternalIssuer() })
  afterAll(async () => { await issuer.close() })

  it('finds a rotated key on an unknown kid once the cooldown has passed', async () => {
    const keys = new IssuerKeys(issuer.issuer, { clock, timeoutMs: 2_000, jwksCooldownMs: 0 })
    await jwtVerify(await issuer.sign({ sub: 'a' }), keys.getKey)
    await issuer.rotate()
    const { payload } = await jwtVerify(await issuer.sign({ sub: 'b' }), keys.getKey)
    expect(payload.sub).toBe('b')
    expect(issuer.hits['/.well-known/openid-configuration']).toBe(1)
  })

  it('refuses a discovery document that names another issuer (mix-up)', async () => {
    const liar = await startExternalIssuer({ discoveryIssuer: 'https://someone-else.example' })
    try {
      const keys = new IssuerKeys(liar.issuer, { clock, timeoutMs: 2_000 })
      await expect(jwtVerify(await liar.sign({ sub: 'a' }), keys.getKey)).rejects.toMatchObject({ code: 'TRUST_PROVIDER_UNAVAILABLE' })
    } finally {
      await liar.close()
    }
  })

  it('fails closed with TRUST_PROVIDER_UNAVAILABLE when the issuer cannot be reached, and does not retry on every call', async () => {
    const gone = await startExternalIssuer()
    const token = await gone.sign({ sub: 'a' })
    await gone.close()
    const keys = new IssuerKeys(gone.issuer, { clock, timeoutMs: 500 })
    const first = await jwtVerify(token, keys.getKey).catch((error: unknown) => error)
    expect(first).toBeInstanceOf(WritError)
    expect(first).toMatchObject({ code: 'TRUST_PROVIDER_UNAVAILABLE', status: 503 })
    expect((first as WritError).detail).toContain(gone.issuer)
    await expect(jwtVerify(token, keys.getKey)).rejects.toMatchObject({ code: 'TRUST_PROVIDER_UNAVAILABLE' })
  })
})
