import { describe, expect, it } from 'vitest'
import { WritError } from '../errors/writ-error.js'
import { capabilityClaims, defaultHeader, flipUnusedBits, generateTestKey, segment, signCapability, signRaw } from './capability-token.fixture.js'
import { createCompactJwsParser, isCanonicalBase64url, parseCompactJws, type ParseCompactJwsOptions } from './compact-jws.js'
import { scanJsonMembers } from './json-members.js'

const key = generateTestKey('Ed25519', 'k1')
const options: ParseCompactJwsOptions = { allowedAlgorithms: ['EdDSA'], expectedTyp: 'at+jwt' }

function rejection(token: unknown, opts: ParseCompactJwsOptions = options): WritError {
  try {
    parseCompactJws(token as string, opts)
  } catch (error) {
    expect(error).toBeInstanceOf(WritError)
    return error as WritError
  }
  throw new Error('the token was accepted')
}

describe('isCanonicalBase64url', () => {
  it('accepts the canonical encoding of any length', () => {
    for (let n = 0; n < 40; n++) expect(isCanonicalBase64url(Buffer.alloc(n, 0xfb).toString('base64url'))).toBe(true)
  })

  it('rejects padding, whitespace, the standard alphabet and an impossible length', () => {
    for (const s of ['QQ==', 'QQ=', ' QQ', 'QQ\n', 'Q Q', '+/8', 'QUJD/', 'A', 'QUJDR']) expect(isCanonicalBase64url(s)).toBe(false)
  })

  it('agrees with decode-and-re-encode on every 2- and 3-character string and on random longer ones', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const reencodes = (s: string) => /^[A-Za-z0-9_-]*$/.test(s) && Buffer.from(s, 'base64url').toString('base64url') === s
    let mismatches = 0
    for (const a of alphabet) {
      for (const b of alphabet) {
        if (isCanonicalBase64url(a + b) !== reencodes(a + b)) mismatches++
        for (const c of alphabet) if (isCanonicalBase64url(a + b + c) !== reencodes(a + b + c)) mismatches++
      }
    }
    const noisy = `${alphabet}=+/ \n.`
    for (let i = 0; i < 20_000; i++) {
      const s = Array.from({ length: 1 + (i % 23) }, () => noisy[Math.floor(Math.random() * noisy.length)]).join('')
      if (isCanonicalBase64url(s) !== reencodes(s)) mismatches++
    }
    expect(mismatches).toBe(0)
  })

  it('rejects flipped unused low bits that decode to the same bytes', () => {
    expect(Buffer.from('QR', 'base64url')).toEqual(Buffer.from('QQ', 'base64url'))
    expect(isCanonicalBase64url('QR')).toBe(false)
    expect(isCanonicalBase64url('QUI')).toBe(true)
    expect(isCanonicalBase64url('QUJ')).toBe(false)
  })
})

describe('scanJsonMembers', () => {
  it('finds duplicate member names at any depth, also when escaped', () => {
    expect(scanJsonMembers('{"a":1,"a":2}', 32)).toBe('duplicate_member')
    expect(scanJsonMembers('{"x":[{"b":1},{"c":{"d":1,"d":2}}]}', 32)).toBe('duplicate_member')
    expect(scanJsonMembers('{"alg":"EdDSA","\\u0061lg":"none"}', 32)).toBe('duplicate_member')
  })

  it('does not mistake string contents or sibling objects for duplicates', () => {
    expect(scanJsonMembers('{"a":"{\\"a\\":1,","b":{"a":1},"c":[{"a":1},{"a":2}]}', 32)).toBeUndefined()
    expect(scanJsonMembers('{"a\\\\":1,"a":2}', 32)).toBeUndefined()
  })

  it('stops at the depth cap without recursing', () => {
    expect(scanJsonMembers('['.repeat(32) + ']'.repeat(32), 32)).toBeUndefined()
    expect(scanJsonMembers('['.repeat(33) + ']'.repeat(33), 32)).toBe('json_too_deep')
    expect(scanJsonMembers('{"a":'.repeat(100_000), 32)).toBe('json_too_deep')
  })
})

describe('parseCompactJws', () => {
  it('returns the header, claims, signing input and signature of a well-formed token', async () => {
    const token = await signCapability(key)
    const parsed = parseCompactJws(token, options)
    expect(parsed.header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' })
    expect(parsed.claims).toEqual(capabilityClaims())
    expect(parsed.signingInput.toString('latin1')).toBe(token.slice(0, token.lastIndexOf('.')))
    expect(parsed.signature).toHaveLength(64)
  })

  it('compares typ case-insensitively and accepts the application/ prefix', async () => {
    for (const typ of ['AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) {
      expect(parseCompactJws(await signCapability(key, capabilityClaims(), { typ }), options).header.typ).toBe(typ)
    }
    const token = await signCapability(key, capabilityClaims(), { typ: 'dpop+jwt' })
    expect(parseCompactJws(token, { ...options, expectedTyp: ['at+jwt', 'application/dpop+jwt'] }).header.typ).toBe('dpop+jwt')
  })

  it('skips the typ check when no typ is expected', async () => {
    const token = await signCapability(key, capabilityClaims(), { typ: undefined })
    expect(parseCompactJws(token, { allowedAlgorithms: ['EdDSA'] }).header.typ).toBeUndefined()
  })

  it('rejects a token over the size cap with TOKEN_TOO_LARGE before parsing it', () => {
    const error = rejection('x'.repeat(8 * 1024 + 1))
    expect(error.code).toBe('TOKEN_TOO_LARGE')
    expect(rejection('a.b.c', { ...options, maxBytes: 4 }).code).toBe('TOKEN_TOO_LARGE')
  })

  it('rejects anything that is not a string', () => {
    for (const value of [undefined, null, 42, {}, ['a.b.c'], Buffer.from('a.b.c')]) {
      expect(rejection(value).reasons).toEqual(['token_not_string'])
    }
  })

  it('rejects the JSON serialization and wrong part counts', async () => {
    const token = await signCapability(key)
    const [h, p, s] = token.split('.')
    expect(rejection(JSON.stringify({ protected: h, payload: p, signature: s })).reasons).toEqual(['json_serialization'])
    for (const bad of ['', h!, `${h}.${p}`, `${token}.`, `${token}.${s}`, '...']) {
      expect(rejection(bad).reasons).toEqual(['malformed_compact'])
    }
  })

  it('rejects every non-canonical base64url variant of a valid token', async () => {
    const token = await signCapability(key)
    const [h, p, s] = token.split('.') as [string, string, string]
    const variants = [`${h}=.${p}.${s}`, `${h}.${p}.${s}==`, `${h}.${p} .${s}`, `${h}.${p}.${s}\n`, ` ${token}`,
      `${h}.${p}.${flipUnusedBits(s)}`, `${h}.${p}.${s.replaceAll('-', '+').replaceAll('_', '/')}`]
    for (const variant of variants) {
      if (variant === token) continue
      expect(rejection(variant).reasons).toEqual(['non_canonical_base64url'])
    }
  })

  it('rejects a disallowed alg before anything else in the header', () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE', 'HS256', 'eddsa', 'ES256', '', 7, null]) {
      const token = signRaw(key, { alg, typ: 'at+jwt', kid: 'k1' }, capabilityClaims())
      expect(rejection(token).reasons).toEqual(['alg_not_allowed'])
    }
    expect(rejection(signRaw(key, { typ: 'at+jwt' }, capabilityClaims())).reasons).toEqual(['alg_not_allowed'])
  })

  it('rejects header parameters that pick keys, URLs, encodings or inner tokens', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ jku: 'http://127.0.0.1/jwks' }, 'header_jku_forbidden'],
      [{ x5u: 'http://127.0.0.1/cert' }, 'header_x5u_forbidden'],
      [{ jwk: key.publicJwk }, 'header_jwk_forbidden'],
      [{ x5c: ['MIIB'] }, 'header_x5c_forbidden'],
      [{ x5t: 'abc' }, 'header_x5t_forbidden'],
      [{ 'x5t#S256': 'abc' }, 'header_x5t_s256_forbidden'],
      [{ crit: [] }, 'crit_unsupported'],
      [{ crit: ['exp'], exp: 1 }, 'crit_unsupported'],
      [{ b64: false }, 'b64_unsupported'],
      [{ cty: 'JWT' }, 'cty_forbidden'],
      [{ zip: 'DEF' }, 'zip_unsupported'],
    ]
    for (const [extra, reason] of cases) {
      expect(rejection(signRaw(key, defaultHeader(key, extra), capabilityClaims())).reasons).toEqual([reason])
    }
  })

  it('rejects a wrong or missing typ when one is expected', () => {
    for (const typ of ['JWT', 'dpop+jwt', 'writ-sudo+jwt', 'none', 'at+jwt ', 'application/', 1, undefined]) {
      const header = defaultHeader(key, { typ })
      expect(rejection(signRaw(key, header, capabilityClaims())).reasons).toEqual(['typ_mismatch'])
    }
  })

  it('rejects duplicate members in the header and in the claims', () => {
    const header = '{"alg":"EdDSA","typ":"at+jwt","kid":"k1","alg":"none"}'
    expect(rejection(signRaw(key, header, capabilityClaims())).reasons).toEqual(['duplicate_member'])
    const payload = JSON.stringify(capabilityClaims()).replace('"sub":"agent-7"', '"sub":"agent-7","sub":"admin"')
    expect(rejection(signRaw(key, defaultHeader(key), payload)).reasons).toEqual(['duplicate_member'])
  })

  it('rejects invalid UTF-8, a byte order mark and non-object JSON', () => {
    const claims = Buffer.from(JSON.stringify(capabilityClaims()).replace('agent-7', 'agent-\u00ff'), 'latin1')
    expect(rejection(signRaw(key, defaultHeader(key), claims)).reasons).toEqual(['invalid_utf8'])
    const surrogate = Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])
    expect(rejection(signRaw(key, defaultHeader(key), surrogate)).reasons).toEqual(['invalid_utf8'])
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(capabilityClaims()))])
    expect(rejection(signRaw(key, defaultHeader(key), bom)).reasons).toEqual(['invalid_json'])
    for (const payload of ['[]', 'null', '"x"', '42', 'true']) {
      expect(rejection(signRaw(key, defaultHeader(key), payload)).reasons).toEqual(['payload_not_object'])
    }
    expect(rejection(signRaw(key, '["EdDSA"]', capabilityClaims())).reasons).toEqual(['header_not_object'])
    expect(rejection(signRaw(key, defaultHeader(key), '{"a":NaN}')).reasons).toEqual(['invalid_json'])
  })

  it('rejects claims nested deeper than the JSON depth cap', () => {
    let act: Record<string, unknown> = { sub: 'a' }
    for (let i = 0; i < 40; i++) act = { sub: 'a', act }
    const token = signRaw(key, defaultHeader(key), capabilityClaims({ act }))
    expect(rejection(token).reasons).toEqual(['json_too_deep'])
  })

  it('rejects an empty header, payload or signature', () => {
    const token = signRaw(key, defaultHeader(key), capabilityClaims())
    const [h, p] = token.split('.')
    expect(rejection(`.${p}.AAAA`).reasons).toEqual(['header_missing'])
    expect(rejection(`${h}..AAAA`).reasons).toEqual(['payload_missing'])
    expect(rejection(`${h}.${p}.`).reasons).toEqual(['signature_missing'])
  })

  it('reuses a validated header across tokens, frozen, and keeps checking everything else', async () => {
    const algorithms = ['EdDSA']
    const parse = createCompactJwsParser({ allowedAlgorithms: algorithms, expectedTyp: 'at+jwt' })
    const first = parse(await signCapability(key))
    const second = parse(await signCapability(key, capabilityClaims({ jti: 'other' })))
    expect(second.header).toBe(first.header)
    expect(Object.isFrozen(first.header)).toBe(true)
    algorithms.length = 0
    expect(parse(await signCapability(key)).header.alg).toBe('EdDSA')
    const [h] = (await signCapability(key)).split('.')
    expect(() => parse(`${h}.${segment('{"a":1,"a":2}')}.AAAA`)).toThrow(expect.objectContaining({ reasons: ['duplicate_member'] }))
    for (let i = 0; i < 40; i++) expect(parse(await signCapability(key, capabilityClaims(), { kid: `k${i}` })).header.kid).toBe(`k${i}`)
    expect(() => parse(signRaw(key, defaultHeader(key, { typ: 'JWT' }), capabilityClaims()))).toThrow(WritError)
  })

  it('never echoes the token in its error detail', async () => {
    const token = await signCapability(key, capabilityClaims(), { typ: 'JWT' })
    const error = rejection(token)
    expect(error.message).not.toContain(token.split('.')[1]!.slice(0, 12))
    expect(error.detail).toMatch(/^[a-z0-9 ,:-]+$/)
  })

  it('keeps a segment of pure unused-bit flips out: the example of RFC 7515 A.1', () => {
    // RFC 7515 A.1's signature ends in `EjXk`; `EjXl` decodes to the same bytes.
    expect(isCanonicalBase64url('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(true)
    expect(isCanonicalBase64url('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl')).toBe(false)
    expect(segment('x')).toBe('eA')
  })
})
