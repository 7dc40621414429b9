import { describe, expect, it } from 'vitest'
import { WritError } from '../errors/writ-error.js'
import { AUDIENCE, ISSUER, NOW, capabilityClaims, defaultHeader, generateTestKey, signRaw } from './capability-token.fixture.js'
import { actorChainDepth, checkCapabilityClaims, type ClaimRules } from './capability-claims.js'
import { parseCompactJws } from './compact-jws.js'

const rules: ClaimRules = { issuer: ISSUER, audiences: [AUDIENCE], leewaySeconds: 30, maxLifetimeSeconds: 900 }

function nested(depth: number): Record<string, unknown> {
  let act: Record<string, unknown> = { sub: 'a0' }
  for (let i = 1; i < depth; i++) act = { sub: `a${i}`, act }
  return act
}

describe('actorChainDepth', () => {
  it('counts a chain link by link', () => {
    expect(actorChainDepth(undefined)).toBe(0)
    expect(actorChainDepth({ sub: 'a' })).toBe(1)
    expect(actorChainDepth(nested(8))).toBe(8)
  })

  it('stops one link past the cap on a chain 1,000 and 100,000 deep, without recursion', () => {
    expect(actorChainDepth(nested(1000))).toBe(9)
    expect(actorChainDepth(nested(100_000))).toBe(9)
  })

  it('reports a malformed link as -1', () => {
    expect(actorChainDepth({ sub: '' })).toBe(-1)
    expect(actorChainDepth({ sub: 'a', act: null })).toBe(-1)
    expect(actorChainDepth({ sub: 'a', act: [{ sub: 'b' }] })).toBe(-1)
  })
})

describe('checkCapabilityClaims', () => {
  it('returns honest claims unchanged', () => {
    const claims = capabilityClaims({ act: nested(3) })
    expect(checkCapabilityClaims(claims, rules, NOW)).toBe(claims)
  })

  it('rejects an actor chain one link over the cap', () => {
    expect(() => checkCapabilityClaims(capabilityClaims({ act: nested(9) }), rules, NOW)).toThrow(WritError)
  })

  it('treats the leeway as exclusive at exp and inclusive at iat and nbf', () => {
    const at = (overrides: Record<string, unknown>) => () => checkCapabilityClaims(capabilityClaims(overrides), rules, NOW)
    expect(at({ iat: NOW - 400, exp: NOW - 29 })).not.toThrow()
    expect(at({ iat: NOW - 400, exp: NOW - 30 })).toThrow(expect.objectContaining({ code: 'TOKEN_EXPIRED' }))
    expect(at({ iat: NOW + 30, nbf: NOW + 30, exp: NOW + 60 })).not.toThrow()
    expect(at({ iat: NOW + 31, exp: NOW + 60 })).toThrow(expect.objectContaining({ reasons: ['iat_in_future'] }))
  })
})

describe('parseCompactJws on an act chain 1,000 deep', () => {
  it('stops at the JSON depth cap even when the size cap is lifted', () => {
    const key = generateTestKey('Ed25519', 'k')
    const token = signRaw(key, defaultHeader(key), capabilityClaims({ act: nested(1000) }))
    expect(() => parseCompactJws(token, { allowedAlgorithms: ['EdDSA'], maxBytes: 1 << 20 }))
      .toThrow(expect.objectContaining({ reasons: ['json_too_deep'] }))
  })
})
