/** The SDK verifier with DPoP-bound tokens (RFC 9449 §7) and its hostile battery (docs/threats.md DPOP- rows). */
import { createHmac, generateKeyPairSync, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { WritError } from '../errors/writ-error.js'
import { createDpopKey, signDpopProof, type DpopKey } from '../client/dpop-key.js'
import { AUDIENCE, ISSUER, NOW, capabilityClaims, generateTestKey, segment, signCapability } from './capability-token.fixture.js'
import { createCapabilityVerifier, type CapabilityVerifier, type PresentedRequest } from './capability-verifier.js'
import { accessTokenHash, checkDpopClaims, createDpopProofParser, normaliseHtu } from './dpop-proof.js'
import { verifyWithKeyType } from './signature.js'
import { createMemoryDpopReplayCache } from './dpop-replay-cache.js'
import { EXPECTED } from './hostile-tokens.fixture.js'

const ours = generateTestKey('Ed25519', 'writ-1')
const URL_ = 'https://api.example/deploy'
const key = await createDpopKey()
const other = await createDpopKey()

function verifier(replayCache = createMemoryDpopReplayCache()): CapabilityVerifier {
  return createCapabilityVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [ours.publicJwk] }, now: () => NOW, dpop: { replayCache } })
}
const bound = (jkt = key.jkt, jti = `jti-${Math.random()}`) => signCapability(ours, capabilityClaims({ jti, cnf: { jkt } }))
const proofFor = (token: string, over: { htm?: string; htu?: string; now?: number; by?: DpopKey } = {}) => signDpopProof(over.by ?? key, {
  htm: over.htm ?? 'POST', htu: over.htu ?? URL_, accessToken: token, now: () => over.now ?? NOW,
})
const dpop = (proof: string | undefined, over: Partial<PresentedRequest> = {}): PresentedRequest => ({ scheme: 'DPoP', proof, method: 'POST', url: URL_, ...over })

/** A proof built by hand: `header` and `claims` as given, signed with the key's private key (or `signWith`). */
function handProof(header: Record<string, unknown>, claims: Record<string, unknown>, signWith = key.privateKey): string {
  const input = `${segment(header)}.${segment(claims)}`
  return `${input}.${sign(null, Buffer.from(input), signWith).toString('base64url')}`
}

describe('createCapabilityVerifier with DPoP-bound tokens', () => {
  it('accepts a bound token with a proof by its key for this request and token, and reports cnf', async () => {
    const token = await bound()
    const result = await verifier().verify(token, EXPECTED, dpop(await proofFor(token)))
    expect(result.claims.cnf).toEqual({ jkt: key.jkt })
  })

  it('accepts a proof whose htu differs in host case, default port, query and fragment', async () => {
    const token = await bound()
    const proof = await proofFor(token, { htu: 'HTTPS://API.example:443/deploy' })
    await expect(verifier().verify(token, EXPECTED, dpop(proof, { url: 'https://api.example/deploy?dry=1#x' }))).resolves.toBeTruthy()
  })

  it('still accepts an unbound token as Bearer, with or without the request described', async () => {
    const token = await signCapability(ours)
    await expect(verifier().verify(token, EXPECTED)).resolves.toBeTruthy()
    await expect(verifier().verify(token, EXPECTED, { scheme: 'Bearer', method: 'POST', url: URL_ })).resolves.toBeTruthy()
  })

  it('a shared replay cache sees the proofs of every verifier that uses it', async () => {
    const cache = createMemoryDpopReplayCache()
    const token = await bound()
    const proof = await proofFor(token)
    await verifier(cache).verify(token, EXPECTED, dpop(proof))
    await expect(verifier(cache).verify(token, EXPECTED, dpop(proof))).rejects.toMatchObject({ reasons: ['dpop_proof_replayed'] })
  })

  it('keeps its memory bounded: a full cache refuses new proofs instead of forgetting live ones, and frees expired ones', async () => {
    const cache = createMemoryDpopReplayCache({ maxEntries: 2 })
    expect(cache.use('a', NOW + 60, NOW)).toBe(true)
    expect(cache.use('b', NOW + 60, NOW)).toBe(true)
    expect(() => cache.use('c', NOW + 60, NOW)).toThrow(expect.objectContaining({ code: 'SERVER_UNAVAILABLE', reasons: ['dpop_replay_cache_full'] }))
    expect(cache.use('a', NOW + 60, NOW + 1)).toBe(false)
    expect(cache.use('c', NOW + 121, NOW + 61)).toBe(true)
    expect(cache.use('a', NOW + 121, NOW + 61)).toBe(true)
  })

  describe('hostile battery (RFC 9449): every case is refused', () => {
    type Case = [string, () => Promise<[string, PresentedRequest | undefined]>, string, string]
    const cases: Case[] = [
      ['DPOP-01 bound token with no request described', async () => [await bound(), undefined], 'DPOP_PROOF_INVALID', 'dpop_proof_missing'],
      ['DPOP-01 bound token with no proof', async () => [await bound(), dpop(undefined)], 'DPOP_PROOF_INVALID', 'dpop_proof_missing'],
      ['DPOP-01 two proofs in one header', async () => {
        const token = await bound()
        return [token, dpop(`${await proofFor(token)}, ${await proofFor(token)}`)]
      }, 'DPOP_PROOF_INVALID', 'dpop_header_repeated'],
      ['bound token presented as Bearer, even with a valid proof', async () => {
        const token = await bound()
        return [token, dpop(await proofFor(token), { scheme: 'Bearer' })]
      }, 'TOKEN_INVALID', 'dpop_bound_token_as_bearer'],
      ['unbound token presented with the DPoP scheme', async () => {
        const token = await signCapability(ours)
        return [token, dpop(await proofFor(token))]
      }, 'TOKEN_INVALID', 'token_not_bound'],
      ['DPOP-02 malformed proof', async () => [await bound(), dpop('not-a-proof')], 'DPOP_PROOF_INVALID', 'dpop_malformed_compact'],
      ['DPOP-03 typ JWT', async () => {
        const token = await bound()
        return [token, dpop(handProof({ typ: 'JWT', alg: 'EdDSA', jwk: key.publicJwk }, { htm: 'POST', htu: URL_, iat: NOW, jti: 'x', ath: accessTokenHash(token) }))]
      }, 'DPOP_PROOF_INVALID', 'dpop_typ_mismatch'],
      ['DPOP-04 symmetric alg HS256', async () => {
        const token = await bound()
        const input = `${segment({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } })}.${segment({ htm: 'POST', htu: URL_, iat: NOW, jti: 'x', ath: accessTokenHash(token) })}`
        return [token, dpop(`${input}.${createHmac('sha256', 'secret').update(input).digest('base64url')}`)]
      }, 'DPOP_PROOF_INVALID', 'dpop_alg_not_allowed'],
      ['DPOP-04 alg none', async () => {
        const token = await bound()
        return [token, dpop(`${segment({ typ: 'dpop+jwt', alg: 'none', jwk: key.publicJwk })}.${segment({ htm: 'POST', htu: URL_, iat: NOW, jti: 'x' })}.`)]
      }, 'DPOP_PROOF_INVALID', 'dpop_alg_not_allowed'],
      ['DPOP-05 signed by another key than the one in its header', async () => {
        const token = await bound()
        const claims = { htm: 'POST', htu: URL_, iat: NOW, jti: 'x', ath: accessTokenHash(token) }
        return [token, dpop(handProof({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: key.publicJwk }, claims, other.privateKey))]
      }, 'DPOP_PROOF_INVALID', 'dpop_signature_invalid'],
      ['DPOP-06 private key in the proof header', async () => {
        const token = await bound()
        const claims = { htm: 'POST', htu: URL_, iat: NOW, jti: 'x', ath: accessTokenHash(token) }
        return [token, dpop(handProof({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: key.privateKey.export({ format: 'jwk' }) }, claims))]
      }, 'DPOP_PROOF_INVALID', 'dpop_jwk_private'],
      ['DPOP-07 proof for another method', async () => {
        const token = await bound()
        return [token, dpop(await proofFor(token, { htm: 'GET' }))]
      }, 'DPOP_PROOF_INVALID', 'dpop_htm_mismatch'],
      ['DPOP-08 proof for another URL', async () => {
        const token = await bound()
        return [token, dpop(await proofFor(token, { htu: 'https://api.example/other' }))]
      }, 'DPOP_PROOF_INVALID', 'dpop_htu_mismatch'],
      ['DPOP-08 proof for another host', async () => {
        const token = await bound()
        return [token, dpop(await proofFor(token, { htu: 'https://evil.example/deploy' }))]
      }, 'DPOP_PROOF_INVALID', 'dpop_htu_mismatch'],
      ['DPOP-10 proof too old', async () => {
        const token = await bound()
        return [token, dpop(await proofFor(token, { now: NOW - 61 }))]
      }, 'DPOP_PROOF_INVALID', 'dpop_iat_too_old'],
      ['DPOP-10 proof from the future', async () => {
        const token = await bound()
        return [token, dpop(await proofFor(token, { now: NOW + 31 }))]
      }, 'DPOP_PROOF_INVALID', 'dpop_iat_in_future'],
      ['DPOP-12 ath missing', async () => {
        const token = await bound()
        return [token, dpop(await signDpopProof(key, { htm: 'POST', htu: URL_, now: () => NOW }))]
      }, 'DPOP_PROOF_INVALID', 'dpop_ath_missing'],
      ['DPOP-12 ath of another token', async () => {
        const token = await bound()
        return [token, dpop(await proofFor(await bound()))]
      }, 'DPOP_PROOF_INVALID', 'dpop_ath_mismatch'],
      ['DPOP-13 proof by another key than cnf.jkt', async () => {
        const token = await bound()
        return [token, dpop(await proofFor(token, { by: other }))]
      }, 'DPOP_PROOF_INVALID', 'dpop_key_mismatch'],
      ['DPOP-15 the access token itself as the proof', async () => {
        const token = await bound()
        return [token, dpop(token)]
      }, 'DPOP_PROOF_INVALID', 'dpop_typ_mismatch'],
      ['JWT-17 a DPoP proof as the access token', async () => {
        const token = await bound()
        const proof = await proofFor(token)
        return [proof, dpop(proof)]
      }, 'TOKEN_INVALID', 'header_jwk_forbidden'],
    ]
    it.each(cases)('%s', async (_name, make, code, reason) => {
      const [token, request] = await make()
      const error = await verifier().verify(token, EXPECTED, request).then(() => undefined, (e: unknown) => e)
      expect(error).toBeInstanceOf(WritError)
      expect(error).toMatchObject({ code, reasons: [reason] })
    })

    it('DPOP-11 a proof replayed (same request, same token) is refused the second time', async () => {
      const v = verifier()
      const token = await bound()
      const proof = await proofFor(token)
      await v.verify(token, EXPECTED, dpop(proof))
      await expect(v.verify(token, EXPECTED, dpop(proof))).rejects.toMatchObject({ code: 'DPOP_PROOF_INVALID', reasons: ['dpop_proof_replayed'] })
    })

    it('a P-256 proof key works the same way', async () => {
      const p256 = await createDpopKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)
      const token = await bound(p256.jkt)
      await expect(verifier().verify(token, EXPECTED, dpop(await proofFor(token, { by: p256 })))).resolves.toBeTruthy()
    })
  })
})

// RFC 9449 figure 13 (section 7.1): a proof for a protected-resource request, its access token and key thumbprint.
const RFC_RESOURCE_PROOF = 'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19'
  + '.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9'
  + '.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA'
const RFC_ACCESS_TOKEN = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU'
const RFC_JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'

describe('DPOP-14: the RFC 9449 example proof', () => {
  it('verifies by its embedded key, whose thumbprint is the RFC\'s jkt, and its ath names the RFC\'s token', async () => {
    const parsed = await createDpopProofParser()(RFC_RESOURCE_PROOF)
    expect(parsed.key.jkt).toBe(RFC_JKT)
    expect(verifyWithKeyType(parsed.key.keyType, parsed.key.key, parsed.signingInput, parsed.signature)).toBe(true)
    const rules = { htm: 'GET', htus: [normaliseHtu('https://resource.example.org/protectedresource') as string], maxAgeSeconds: 60, leewaySeconds: 30, ath: accessTokenHash(RFC_ACCESS_TOKEN) }
    expect(checkDpopClaims(parsed.claims, { ...rules, now: 1_562_262_618 })).toEqual({ jti: 'e1j3V_bKic8-LAEB', iat: 1_562_262_618 })
    // Years later it is only a stale proof.
    expect(() => checkDpopClaims(parsed.claims, { ...rules, now: NOW })).toThrow(expect.objectContaining({ reasons: ['dpop_iat_too_old'] }))
  })
})
