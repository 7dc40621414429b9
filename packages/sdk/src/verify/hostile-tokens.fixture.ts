/** The hostile-token battery of docs/threats.md (JWT-01..JWT-29), one row per case, for every capability verifier. */
import { createHmac, type KeyObject } from 'node:crypto'
import type { CapabilityVerifier, ExpectedCapability } from './capability-verifier.js'
import {
  AUDIENCE, ISSUER, NOW, capabilityClaims, defaultHeader, flipUnusedBits, generateTestKey, segment, signCapability, signRaw,
  type TestKey,
} from './capability-token.fixture.js'

export interface HostileContext {
  ours: TestKey
  ec: TestKey
  attacker: TestKey
  /** Main verifier: remote JWKS on loopback, EdDSA only, revocation hook that revokes REVOKED_JTIS. */
  verifier: CapabilityVerifier
  /** Same JWKS, algorithms EdDSA and ES256. */
  mixedVerifier: CapabilityVerifier
  /** A fresh verifier on its own loopback JWKS, for the unknown-kid flood. */
  floodVerifier: () => CapabilityVerifier
  attackerUrl: string
}

export interface HostileRow {
  id: string
  name: string
  tokens: (ctx: HostileContext) => string[] | Promise<string[]>
  verifier?: (ctx: HostileContext) => CapabilityVerifier
  /** What the resource server expects; default EXPECTED, the action and resource of capabilityClaims(). */
  expected?: ExpectedCapability
  /** Expected error code, when one is certain; otherwise any TOKEN_* or KEY_NOT_FOUND code passes. */
  code?: string
  /** Expected machine-readable reason, when one is certain. */
  reason?: string
  /** Revocation-hook calls the row may cause (JWT-29: none before the signature verifies). */
  hookCalls?: number
}

/** The action and resource the default test claims grant. */
export const EXPECTED: ExpectedCapability = { action: 'deploy.run', resource: 'service:billing' }

export const REVOKED_JTIS = new Set(['jti-revoked', 'jti-revoked-T'])

const good = (ctx: HostileContext, claims = capabilityClaims(), header: Record<string, unknown> = {}) =>
  signCapability(ctx.ours, claims, header)
const raw = (ctx: HostileContext, header: string | object | Uint8Array, payload: string | object | Uint8Array) =>
  signRaw(ctx.ours, header, payload)
const hdr = (ctx: HostileContext, extra: Record<string, unknown> = {}) => defaultHeader(ctx.ours, extra)
const parts = (token: string) => token.split('.') as [string, string, string]

function unsigned(header: object, claims: object = capabilityClaims()): string {
  return `${segment(header)}.${segment(claims)}.`
}

function hmacToken(secret: string | Buffer, header: Record<string, unknown>): string {
  const input = `${segment(header)}.${segment(capabilityClaims())}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

function keyMaterials(publicKey: KeyObject): Array<[string, string | Buffer]> {
  const jwk = publicKey.export({ format: 'jwk' })
  return [
    ['raw 32 bytes', Buffer.from(jwk.x!, 'base64url')],
    ['SPKI PEM', publicKey.export({ type: 'spki', format: 'pem' })],
    ['SPKI DER', publicKey.export({ type: 'spki', format: 'der' })],
    ['JWK JSON', JSON.stringify(jwk)],
    ['the x string', jwk.x!],
  ]
}

/** Claims whose one authorization detail has `action` and `resource` replaced. */
function granting(action: string, resource: string): Record<string, unknown> {
  return capabilityClaims({ authorization_details: [{ type: 'writ_action', action, resource }] })
}

function nestedAct(depth: number): Record<string, unknown> {
  let act: Record<string, unknown> = { sub: 'agent-0' }
  for (let i = 1; i < depth; i++) act = { sub: `agent-${i}`, act }
  return act
}

const COMMON_SECRETS = ['', 'secret', 'password', '123456', 'changeme', 'your-256-bit-secret', 'jwt', 'key', 'admin', 'writ']
const TYPE_CONFUSED_CLAIMS = ['iss', 'sub', 'client_id', 'aud', 'exp', 'iat', 'nbf', 'jti', 'authorization_details', 'task', 'act', 'parent', 'cnf']

/** The few substitutions that still make an honest token: any string id, and `nbf: 0` (long past). */
function wouldBeValid(claim: string, value: unknown): boolean {
  if (typeof value === 'string') return ['sub', 'client_id', 'jti', 'parent'].includes(claim)
  return claim === 'nbf' && value === 0
}

export const HOSTILE_ROWS: HostileRow[] = [
  ...['none', 'None', 'NONE', 'nOnE'].map((alg): HostileRow => ({
    id: 'JWT-01', name: `alg ${alg} with an empty signature`, reason: 'alg_not_allowed',
    tokens: (ctx) => [unsigned({ alg, typ: 'at+jwt', kid: ctx.ours.kid })],
  })),
  { id: 'JWT-01', name: 'alg none carrying a real signature', reason: 'alg_not_allowed', tokens: (ctx) => [raw(ctx, hdr(ctx, { alg: 'none' }), capabilityClaims())] },
  { id: 'JWT-02', name: 'a null signature with a valid alg', reason: 'signature_missing', tokens: async (ctx) => [parts(await good(ctx)).slice(0, 2).join('.') + '.'] },
  { id: 'JWT-03', name: 'a signature with its last 4 characters cut', tokens: async (ctx) => [(await good(ctx)).slice(0, -4)] },
  ...['raw 32 bytes', 'SPKI PEM', 'SPKI DER', 'JWK JSON', 'the x string'].map((form, index): HostileRow => ({
    id: 'JWT-04', name: `HS256 keyed with our Ed25519 public key as ${form}`, reason: 'alg_not_allowed',
    tokens: (ctx) => [hmacToken(keyMaterials(ctx.ours.publicKey)[index]![1], { alg: 'HS256', typ: 'at+jwt', kid: ctx.ours.kid })],
  })),
  { id: 'JWT-04', name: 'an HMAC over our public key under an EdDSA header', reason: 'signature_invalid', tokens: (ctx) => [hmacToken(keyMaterials(ctx.ours.publicKey)[0]![1], hdr(ctx))] },
  ...['HS384', 'HS512', 'RS256', 'PS256', 'ES384', 'eddsa', 'Ed25519'].map((alg): HostileRow => ({
    id: 'JWT-04', name: `alg ${alg} outside the allow-list`, reason: 'alg_not_allowed', tokens: (ctx) => [raw(ctx, hdr(ctx, { alg }), capabilityClaims())],
  })),
  ...COMMON_SECRETS.map((secret): HostileRow => ({
    id: 'JWT-05', name: `HS256 with the secret "${secret}"`, reason: 'alg_not_allowed',
    tokens: (ctx) => [hmacToken(secret, { alg: 'HS256', typ: 'at+jwt', kid: ctx.ours.kid })],
  })),
  { id: 'JWT-06', name: "an embedded jwk header with the attacker's key", reason: 'header_jwk_forbidden', tokens: (ctx) => [signRaw(ctx.attacker, { ...hdr(ctx), jwk: ctx.attacker.publicJwk }, capabilityClaims())] },
  { id: 'JWT-06', name: 'an embedded jwk header with our own key', reason: 'header_jwk_forbidden', tokens: (ctx) => [raw(ctx, { ...hdr(ctx), jwk: ctx.ours.publicJwk }, capabilityClaims())] },
  { id: 'JWT-07', name: 'a jku header pointing at a loopback listener', reason: 'header_jku_forbidden', tokens: (ctx) => [signRaw(ctx.attacker, { ...hdr(ctx, { kid: 'attacker' }), jku: `${ctx.attackerUrl}/jwks.json` }, capabilityClaims())] },
  { id: 'JWT-07', name: 'an x5u header pointing at a loopback listener', reason: 'header_x5u_forbidden', tokens: (ctx) => [signRaw(ctx.attacker, { ...hdr(ctx, { kid: 'attacker' }), x5u: `${ctx.attackerUrl}/cert.pem` }, capabilityClaims())] },
  { id: 'JWT-08', name: "an x5c chain carrying the attacker's key", reason: 'header_x5c_forbidden', tokens: (ctx) => [signRaw(ctx.attacker, { ...hdr(ctx), x5c: [ctx.attacker.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')] }, capabilityClaims())] },
  { id: 'JWT-08', name: 'an x5t thumbprint header', reason: 'header_x5t_forbidden', tokens: (ctx) => [raw(ctx, hdr(ctx, { x5t: 'NjVBRjY5MDlCMUIwNzU4RTA2QzZFMDQ4QzQ2MDAyQjVDNjk1RTM2Qg' }), capabilityClaims())] },
  { id: 'JWT-09', name: 'an empty kid', reason: 'kid_missing', tokens: (ctx) => [raw(ctx, hdr(ctx, { kid: '' }), capabilityClaims())] },
  { id: 'JWT-09', name: 'a missing kid', reason: 'kid_missing', tokens: async (ctx) => [await good(ctx, capabilityClaims(), { kid: undefined })] },
  { id: 'JWT-09', name: 'a numeric kid', reason: 'kid_invalid', tokens: (ctx) => [raw(ctx, hdr(ctx, { kid: 7 }), capabilityClaims())] },
  ...['../../../../dev/null', '/dev/null', '/invalid_path', '|sleep 10', "x' UNION SELECT '1';--", 'k\u0000id', '\u202e\u{1f511}\ud800', '__proto__', 'constructor'].map((kid): HostileRow => ({
    id: 'JWT-09', name: `the kid ${JSON.stringify(kid)}`, code: 'KEY_NOT_FOUND', reason: 'kid_unknown',
    tokens: async (ctx) => [await good(ctx, capabilityClaims(), { kid })],
  })),
  { id: 'JWT-09', name: 'a 300-character kid', reason: 'kid_invalid', tokens: async (ctx) => [await good(ctx, capabilityClaims(), { kid: 'k'.repeat(300) })] },
  { id: 'JWT-09', name: 'a 10 KB kid', code: 'TOKEN_TOO_LARGE', tokens: async (ctx) => [await good(ctx, capabilityClaims(), { kid: 'k'.repeat(10_240) })] },
  { id: 'JWT-09', name: 'a kid naming a symmetric key in the JWKS', code: 'KEY_NOT_FOUND', reason: 'key_type_unsupported', tokens: async (ctx) => [await good(ctx, capabilityClaims(), { kid: 'hmac' })] },
  { id: 'JWT-09', name: 'a kid naming a private key in the JWKS', code: 'KEY_NOT_FOUND', reason: 'key_private', tokens: async (ctx) => [await good(ctx, capabilityClaims(), { kid: 'leaky' })] },
  { id: 'JWT-09', name: 'a kid shared by two keys in the JWKS', code: 'KEY_NOT_FOUND', reason: 'kid_ambiguous', tokens: async (ctx) => [await good(ctx, capabilityClaims(), { kid: 'twice' })] },
  {
    id: 'JWT-10', name: 'an unknown-kid flood of 1,000 tokens', code: 'KEY_NOT_FOUND', verifier: (ctx) => ctx.floodVerifier(),
    tokens: (ctx) => Array.from({ length: 1000 }, (_, i) => signRaw(ctx.attacker, hdr(ctx, { kid: `flood-${i}` }), capabilityClaims())),
  },
  { id: 'JWT-11', name: 'the ES256 psychic signature r = s = 0', reason: 'signature_invalid', verifier: (ctx) => ctx.mixedVerifier, tokens: (ctx) => [`${segment(defaultHeader(ctx.ec))}.${segment(capabilityClaims())}.${segment(new Uint8Array(64))}`] },
  { id: 'JWT-11', name: 'an ES256 header naming our Ed25519 key', reason: 'alg_key_mismatch', verifier: (ctx) => ctx.mixedVerifier, tokens: (ctx) => [signRaw(ctx.ec, hdr(ctx, { alg: 'ES256' }), capabilityClaims())] },
  { id: 'JWT-11', name: 'an EdDSA header naming our P-256 key', reason: 'alg_key_mismatch', verifier: (ctx) => ctx.mixedVerifier, tokens: (ctx) => [raw(ctx, hdr(ctx, { kid: ctx.ec.kid }), capabilityClaims())] },
  { id: 'JWT-11', name: 'a good ES256 token at an EdDSA-only verifier', reason: 'alg_not_allowed', tokens: (ctx) => [signRaw(ctx.ec, defaultHeader(ctx.ec), capabilityClaims())] },
  { id: 'JWT-12', name: 'exp past by exactly the leeway', code: 'TOKEN_EXPIRED', tokens: async (ctx) => [await good(ctx, capabilityClaims({ iat: NOW - 330, exp: NOW - 30 }))] },
  { id: 'JWT-12', name: 'exp long past', code: 'TOKEN_EXPIRED', tokens: async (ctx) => [await good(ctx, capabilityClaims({ iat: NOW - 3600, exp: NOW - 3000 }))] },
  { id: 'JWT-12', name: 'exp missing', reason: 'exp_missing', tokens: async (ctx) => [await good(ctx, capabilityClaims({ exp: undefined }))] },
  { id: 'JWT-13', name: 'nbf beyond the leeway in the future', reason: 'nbf_in_future', tokens: async (ctx) => [await good(ctx, capabilityClaims({ nbf: NOW + 31 }))] },
  { id: 'JWT-13', name: 'iat beyond the leeway in the future', reason: 'iat_in_future', tokens: async (ctx) => [await good(ctx, capabilityClaims({ iat: NOW + 31, exp: NOW + 331 }))] },
  { id: 'JWT-13', name: 'iat missing', reason: 'iat_missing', tokens: async (ctx) => [await good(ctx, capabilityClaims({ iat: undefined }))] },
  { id: 'JWT-14', name: 'a lifetime of 15 min + 1 s', reason: 'lifetime_too_long', tokens: async (ctx) => [await good(ctx, capabilityClaims({ exp: NOW + 901 }))] },
  { id: 'JWT-14', name: 'exp equal to iat', reason: 'lifetime_invalid', tokens: async (ctx) => [await good(ctx, capabilityClaims({ iat: NOW + 10, exp: NOW + 10 }))] },
  { id: 'JWT-15', name: 'aud missing', reason: 'aud_missing', tokens: async (ctx) => [await good(ctx, capabilityClaims({ aud: undefined }))] },
  { id: 'JWT-15', name: 'a wrong aud', reason: 'aud_mismatch', tokens: async (ctx) => [await good(ctx, capabilityClaims({ aud: 'https://other.example' }))] },
  { id: 'JWT-15', name: 'an aud array without ours', reason: 'aud_mismatch', tokens: async (ctx) => [await good(ctx, capabilityClaims({ aud: ['https://a.example', `${AUDIENCE}/`] }))] },
  { id: 'JWT-15', name: 'an empty aud array', reason: 'aud_mismatch', tokens: async (ctx) => [await good(ctx, capabilityClaims({ aud: [] }))] },
  ...[['a wrong iss', 'https://evil.example'], ['iss with a trailing slash', `${ISSUER}/`], ['iss in another case', ISSUER.toUpperCase()], ['iss over http', ISSUER.replace('https', 'http')], ['iss missing', undefined]].map(([name, iss]): HostileRow => ({
    id: 'JWT-16', name: name!, reason: 'iss_mismatch', tokens: async (ctx) => [await good(ctx, capabilityClaims({ iss }))],
  })),
  ...['JWT', 'jwt', 'dpop+jwt', 'writ-sudo+jwt', 'none', 'application/jwt', 'at+jwt; charset=utf-8', undefined].map((typ): HostileRow => ({
    id: 'JWT-17', name: `typ ${String(typ)}`, reason: 'typ_mismatch', tokens: async (ctx) => [await good(ctx, capabilityClaims(), { typ })],
  })),
  { id: 'JWT-17', name: 'a client assertion presented as a capability token', reason: 'typ_mismatch', tokens: async (ctx) => [await good(ctx, { iss: 'agent-7', sub: 'agent-7', aud: ISSUER, jti: 'a1', iat: NOW, exp: NOW + 60 }, { typ: 'JWT' })] },
  ...[['an unknown extension', ['writ-ext']], ['a registered parameter', ['exp']], ['an empty list', []], ['a string', 'b64']].map(([name, crit]): HostileRow => ({
    id: 'JWT-18', name: `crit naming ${String(name)}`, reason: 'crit_unsupported', tokens: (ctx) => [raw(ctx, hdr(ctx, { crit, 'writ-ext': 1 }), capabilityClaims())],
  })),
  { id: 'JWT-19', name: 'b64 false with crit', tokens: (ctx) => [raw(ctx, hdr(ctx, { b64: false, crit: ['b64'] }), capabilityClaims())] },
  { id: 'JWT-19', name: 'b64 false without crit', reason: 'b64_unsupported', tokens: (ctx) => [raw(ctx, hdr(ctx, { b64: false }), capabilityClaims())] },
  { id: 'JWT-20', name: 'the flattened JSON serialization', reason: 'json_serialization', tokens: async (ctx) => { const [p, c, s] = parts(await good(ctx)); return [JSON.stringify({ protected: p, payload: c, signature: s })] } },
  { id: 'JWT-20', name: 'the general JSON serialization with two signatures', reason: 'json_serialization', tokens: async (ctx) => { const [p, c, s] = parts(await good(ctx)); return [JSON.stringify({ payload: c, signatures: [{ protected: p, signature: s }, { protected: p, signature: s }] })] } },
  { id: 'JWT-20', name: 'a compact token with a second signature appended', reason: 'malformed_compact', tokens: async (ctx) => { const token = await good(ctx); return [`${token}.${parts(token)[2]}`] } },
  { id: 'JWT-21', name: 'a nested JWT with cty JWT', reason: 'cty_forbidden', tokens: async (ctx) => [raw(ctx, hdr(ctx, { cty: 'JWT' }), await good(ctx))] },
  { id: 'JWT-22', name: 'a duplicate alg in the header', reason: 'duplicate_member', tokens: (ctx) => [raw(ctx, `{"alg":"EdDSA","typ":"at+jwt","kid":"${ctx.ours.kid}","alg":"none"}`, capabilityClaims())] },
  { id: 'JWT-22', name: 'a duplicate kid in the header, escaped', reason: 'duplicate_member', tokens: (ctx) => [raw(ctx, `{"alg":"EdDSA","typ":"at+jwt","kid":"${ctx.ours.kid}","\\u006bid":"hmac"}`, capabilityClaims())] },
  { id: 'JWT-22', name: 'a duplicate sub in the claims', reason: 'duplicate_member', tokens: (ctx) => [raw(ctx, hdr(ctx), JSON.stringify(capabilityClaims()).replace('"sub":"agent-7"', '"sub":"agent-7","sub":"admin"'))] },
  { id: 'JWT-22', name: 'a duplicate action inside authorization_details', reason: 'duplicate_member', tokens: (ctx) => [raw(ctx, hdr(ctx), JSON.stringify(capabilityClaims()).replace('"action":"deploy.run"', '"action":"deploy.run","action":"db.drop"'))] },
  { id: 'JWT-23', name: 'an invalid UTF-8 byte in the claims', reason: 'invalid_utf8', tokens: (ctx) => [raw(ctx, hdr(ctx), Buffer.from(JSON.stringify(capabilityClaims()).replace('agent-7', 'agent-\u00ff'), 'latin1'))] },
  { id: 'JWT-23', name: 'an overlong UTF-8 encoding in the claims', reason: 'invalid_utf8', tokens: (ctx) => [raw(ctx, hdr(ctx), Buffer.concat([Buffer.from(JSON.stringify(capabilityClaims()).slice(0, -1) + ',"x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]))] },
  { id: 'JWT-23', name: 'an encoded lone surrogate in the header', reason: 'invalid_utf8', tokens: (ctx) => [raw(ctx, Buffer.concat([Buffer.from(JSON.stringify(hdr(ctx)).slice(0, -1) + ',"x":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), capabilityClaims())] },
  ...([
    ['padding on the signature', (t: string) => `${t}==`],
    ['padding on the header', (t: string) => { const [h, p, s] = parts(t); return `${h}=.${p}.${s}` }],
    ['a space inside the payload', (t: string) => { const [h, p, s] = parts(t); return `${h}.${p.slice(0, 10)} ${p.slice(10)}.${s}` }],
    ['a trailing newline', (t: string) => `${t}\n`],
    ['a leading space', (t: string) => ` ${t}`],
    ['flipped unused bits in the signature', (t: string) => { const [h, p, s] = parts(t); return `${h}.${p}.${flipUnusedBits(s)}` }],
    ['the standard base64 alphabet', (t: string) => t.replaceAll('-', '+').replaceAll('_', '/')],
  ] as const).map(([name, mutate]): HostileRow => ({
    id: 'JWT-24', name: `non-canonical base64url: ${name}`, reason: 'non_canonical_base64url',
    tokens: async (ctx) => {
      // Claims chosen so that the signature and payload both contain `-` or `_` and have unused bits.
      for (let i = 0; ; i++) {
        const token = await good(ctx, capabilityClaims({ jti: `jti-${i}` }))
        if (/[-_]/.test(token) && mutate(token) !== token) return [mutate(token)]
      }
    },
  })),
  { id: 'JWT-24', name: 'a revoked token T', code: 'TOKEN_REVOKED', tokens: async (ctx) => [await good(ctx, capabilityClaims({ jti: 'jti-revoked-T' }))] },
  { id: 'JWT-24', name: "the re-encoded T′ of a revoked T", reason: 'non_canonical_base64url', hookCalls: 0, tokens: async (ctx) => { const [h, p, s] = parts(await good(ctx, capabilityClaims({ jti: 'jti-revoked-T' }))); return [`${h}.${p}.${flipUnusedBits(s)}`] } },
  { id: 'JWT-25', name: 'a token over 8 KiB', code: 'TOKEN_TOO_LARGE', hookCalls: 0, tokens: async (ctx) => [await good(ctx, capabilityClaims({ task: { id: 'T-42', purpose: 'p'.repeat(8 * 1024) } }))] },
  { id: 'JWT-25', name: 'a 16 KiB token', code: 'TOKEN_TOO_LARGE', tokens: () => [`${'e'.repeat(16 * 1024)}.e.e`] },
  ...([
    ['exp as a string', 'exp', '"9999999999"'], ['exp as 1e309', 'exp', '1e309'], ['exp as NaN', 'exp', 'NaN'],
    ['exp as a fraction', 'exp', `${NOW + 0.5}`], ['exp negative', 'exp', '-1'], ['aud as an object', 'aud', `{"0":"${AUDIENCE}"}`],
    ['aud array with a number', 'aud', `["${AUDIENCE}",1]`], ['sub as a number', 'sub', '42'], ['iat as -0', 'iat', '-0.0'],
  ] as const).map(([name, claim, rawValue]): HostileRow => ({
    id: 'JWT-26', name,
    tokens: (ctx) => [raw(ctx, hdr(ctx), JSON.stringify(capabilityClaims({ [claim]: '@raw@' })).replace('"@raw@"', rawValue))],
  })),
  ...TYPE_CONFUSED_CLAIMS.flatMap((claim) => [null, true, 0, 'x', [], {}]
    .filter((value) => !wouldBeValid(claim, value))
    .map((value): HostileRow => ({
      id: 'JWT-26', name: `${claim} set to ${JSON.stringify(value)}`,
      tokens: async (ctx) => [await good(ctx, capabilityClaims({ [claim]: value }))],
    }))),
  ...([
    ['two authorization details', { authorization_details: [capabilityClaims().authorization_details, capabilityClaims().authorization_details].flat() }],
    ['an authorization detail of another type', { authorization_details: [{ type: 'payment_initiation', action: 'a', resource: 'r' }] }],
    ['an authorization detail without an action', { authorization_details: [{ type: 'writ_action', resource: 'r' }] }],
    ['authorization detail parameters as an array', { authorization_details: [{ type: 'writ_action', action: 'a', resource: 'r', parameters: [] }] }],
    ['a task without an id', { task: { step: '1' } }], ['a numeric task id', { task: { id: 42 } }], ['an empty jti', { jti: '' }],
    ['an act link without sub', { act: { act: { sub: 'x' } } }], ['cnf without jkt', { cnf: {} }],
  ] as const).map(([name, overrides]): HostileRow => ({
    id: 'JWT-26', name, tokens: async (ctx) => [await good(ctx, capabilityClaims(overrides))],
  })),
  { id: 'JWT-27', name: 'act nested 9 deep', reason: 'act_too_deep', tokens: async (ctx) => [await good(ctx, capabilityClaims({ act: nestedAct(9) }))] },
  { id: 'JWT-27', name: 'act nested 40 deep', reason: 'json_too_deep', tokens: async (ctx) => [await good(ctx, capabilityClaims({ act: nestedAct(40) }))] },
  { id: 'JWT-27', name: 'act nested 1,000 deep', tokens: (ctx) => [raw(ctx, hdr(ctx), JSON.stringify(capabilityClaims({ act: nestedAct(1000) })))] },
  { id: 'JWT-28', name: 'a revoked jti', code: 'TOKEN_REVOKED', reason: 'jti_revoked', hookCalls: 1, tokens: async (ctx) => [await good(ctx, capabilityClaims({ jti: 'jti-revoked' }))] },
  {
    id: 'JWT-29', name: 'a tampered payload with invalid claims', reason: 'signature_invalid', hookCalls: 0,
    tokens: async (ctx) => {
      const [h, , s] = parts(await good(ctx))
      return [`${h}.${segment(capabilityClaims({ iss: 'https://evil.example', exp: NOW - 9999, jti: 'jti-revoked' }))}.${s}`]
    },
  },
  { id: 'JWT-29', name: 'a token signed by another key under our kid', reason: 'signature_invalid', hookCalls: 0, tokens: (ctx) => [signRaw(ctx.attacker, hdr(ctx), capabilityClaims())] },
  ...([
    ['a token for another action on the same resource', 'db.drop', 'service:billing', 'action_mismatch'],
    ['a token for the same action on another resource', 'deploy.run', 'service:payments', 'resource_mismatch'],
    ['a token for another action and another resource', 'db.drop', 'db:users', 'action_mismatch'],
    ['an action glob in the token', 'deploy.*', 'service:billing', 'action_mismatch'],
    ['a wildcard action in the token', '*', 'service:billing', 'action_mismatch'],
    ['a resource glob in the token', 'deploy.run', 'service:*', 'resource_mismatch'],
    ['a resource that only starts with ours', 'deploy.run', 'service:billing-v2', 'resource_mismatch'],
    ['a resource that ours only starts with', 'deploy.run', 'service:bill', 'resource_mismatch'],
    ['an action in another case', 'Deploy.Run', 'service:billing', 'action_mismatch'],
    ['a resource in another case', 'deploy.run', 'SERVICE:billing', 'resource_mismatch'],
    ['an action with a trailing space', 'deploy.run ', 'service:billing', 'action_mismatch'],
    ['a resource with a trailing NUL', 'deploy.run', 'service:billing\u0000', 'resource_mismatch'],
    ['a resource with a Cyrillic look-alike letter', 'deploy.run', 'service:b\u0456lling', 'resource_mismatch'],
  ] as const).map(([name, action, resource, reason]): HostileRow => ({
    id: 'SCOPE', name, code: 'TOKEN_SCOPE_MISMATCH', reason, hookCalls: 0,
    tokens: async (ctx) => [await good(ctx, granting(action, resource))],
  })),
  {
    id: 'SCOPE', name: 'an honest token at an endpoint for another action', code: 'TOKEN_SCOPE_MISMATCH', reason: 'action_mismatch', hookCalls: 0,
    expected: { action: 'deploy.rollback', resource: 'service:billing' }, tokens: async (ctx) => [await good(ctx)],
  },
  {
    id: 'SCOPE', name: 'a decomposed resource where the endpoint expects the composed form', code: 'TOKEN_SCOPE_MISMATCH', reason: 'resource_mismatch',
    expected: { action: 'deploy.run', resource: 'service:caf\u00e9' }, tokens: async (ctx) => [await good(ctx, granting('deploy.run', 'service:cafe\u0301'))],
  },
  {
    id: 'SCOPE', name: 'a revoked token for another action (the scope fails before the revocation store is asked)', code: 'TOKEN_SCOPE_MISMATCH', hookCalls: 0,
    tokens: async (ctx) => [await good(ctx, { ...granting('db.drop', 'service:billing'), jti: 'jti-revoked' })],
  },
  {
    id: 'SCOPE', name: 'an action member smuggled outside authorization_details', code: 'TOKEN_SCOPE_MISMATCH', reason: 'action_mismatch',
    tokens: async (ctx) => [await good(ctx, { ...granting('db.drop', 'service:billing'), action: 'deploy.run', resource: 'service:billing' })],
  },
]
