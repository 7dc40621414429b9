/** Strict, crypto-free parsing of a JWS compact serialization: every structural check that must precede a signature check. */
import { WritError } from '../errors/writ-error.js'
import { SIZE_LIMITS } from '../wire/profile.js'
import { scanJsonMembers } from './json-members.js'

export interface JwsHeader {
  alg: string
  kid?: string
  typ?: string
  [member: string]: unknown
}

export interface ParsedCompactJws {
  /** Frozen when it came from a parser's header cache. */
  header: Readonly<JwsHeader>
  /** The decoded payload; untrusted until the signature over `signingInput` has been verified. */
  claims: Record<string, unknown>
  /** ASCII bytes of `header.payload`, exactly as presented. */
  signingInput: Buffer
  signature: Buffer
}

export interface ParseCompactJwsOptions {
  /** Size cap in bytes, checked before anything else (docs/threats.md JWT-25). Default SIZE_LIMITS.tokenBytes. */
  maxBytes?: number
  /** Required `typ`, compared case-insensitively with or without the `application/` prefix (RFC 7515 §4.1.9). */
  expectedTyp?: string | readonly string[]
  /** Case-sensitive allow-list for `alg`; `none` and HMAC never belong here. */
  allowedAlgorithms: readonly string[]
  /**
   * Require a `jwk` header object instead of forbidding it: only for RFC 9449 DPoP proofs, which are signed by the key
   * they carry. The caller must then check that key (public, asymmetric) and must not treat it as trusted.
   */
  embeddedJwk?: boolean
}

const BASE64URL_ALPHABET = /^[A-Za-z0-9_-]*$/
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

// Header parameters that would let the token choose its own key, URL, encoding or inner token (RFC 8725 §3.10, §2.8).
const FORBIDDEN_HEADER_MEMBERS: ReadonlyArray<readonly [string, string]> = [
  ['jku', 'header_jku_forbidden'],
  ['x5u', 'header_x5u_forbidden'],
  ['jwk', 'header_jwk_forbidden'],
  ['x5c', 'header_x5c_forbidden'],
  ['x5t', 'header_x5t_forbidden'],
  ['x5t#S256', 'header_x5t_s256_forbidden'],
  ['crit', 'crit_unsupported'],
  ['b64', 'b64_unsupported'],
  ['cty', 'cty_forbidden'],
  ['zip', 'zip_unsupported'],
]

/**
 * True when `s` is the one canonical unpadded base64url encoding of its bytes: no padding, whitespace or foreign
 * characters, and no set unused low bits in the last character (jose would accept all of those as the same bytes).
 * Equivalent to "decoding and re-encoding gives `s` back" (the tests check both agree), without the re-encoding.
 */
export function isCanonicalBase64url(s: string): boolean {
  const remainder = s.length % 4
  if (remainder === 1 || !BASE64URL_ALPHABET.test(s)) return false
  if (remainder === 0) return true
  // Two trailing characters carry one byte (4 unused bits), three carry two bytes (2 unused bits).
  return (base64urlValue(s.charCodeAt(s.length - 1)) & (remainder === 2 ? 0x0f : 0x03)) === 0
}

function base64urlValue(c: number): number {
  if (c >= 0x61) return c - 0x61 + 26 // a-z
  if (c >= 0x41) return c === 0x5f ? 63 : c - 0x41 // A-Z, _
  return c === 0x2d ? 62 : c - 0x30 + 52 // -, 0-9
}

/** Parses one token; see createCompactJwsParser for a parser that reuses its checks across tokens. */
export function parseCompactJws(token: string, options: ParseCompactJwsOptions): ParsedCompactJws {
  return parseWith(token, snapshot(options), undefined)
}

/**
 * A parser bound to fixed options. It remembers up to HEADER_CACHE_SIZE validated headers by their exact encoded
 * form: every token one key signs shares its header, so the hot path skips decoding and scanning it again.
 */
export function createCompactJwsParser(options: ParseCompactJwsOptions): (token: string) => ParsedCompactJws {
  const rules = snapshot(options)
  const headers = new Map<string, Readonly<JwsHeader>>()
  return (token) => parseWith(token, rules, headers)
}

const HEADER_CACHE_SIZE = 16

interface Rules {
  maxBytes: number
  allowedAlgorithms: readonly string[]
  expectedTyps: readonly string[] | undefined
  embeddedJwk: boolean
}

// INVARIANT: rules are copied once, so a caller mutating its options later cannot change what was cached.
function snapshot(options: ParseCompactJwsOptions): Rules {
  const expected = options.expectedTyp
  return {
    maxBytes: options.maxBytes ?? SIZE_LIMITS.tokenBytes,
    allowedAlgorithms: [...options.allowedAlgorithms],
    expectedTyps: expected === undefined ? undefined : (typeof expected === 'string' ? [expected] : [...expected]).map(normaliseTyp),
    embeddedJwk: options.embeddedJwk === true,
  }
}

function parseWith(token: string, rules: Rules, headers: Map<string, Readonly<JwsHeader>> | undefined): ParsedCompactJws {
  if (typeof token !== 'string') throw invalid('the token is not a string', 'token_not_string')
  // JWT-25: the cap comes before any decoding; length in UTF-16 units never exceeds the UTF-8 byte length.
  if (token.length > rules.maxBytes) {
    throw new WritError('TOKEN_TOO_LARGE', 'the token is too large', { reasons: ['token_too_large'] })
  }
  if (token.charCodeAt(0) === 0x7b) throw invalid('only the compact serialization is accepted', 'json_serialization')

  const firstDot = token.indexOf('.')
  const secondDot = firstDot === -1 ? -1 : token.indexOf('.', firstDot + 1)
  if (secondDot === -1 || token.indexOf('.', secondDot + 1) !== -1) {
    throw invalid('the token is not a compact serialization of three parts', 'malformed_compact')
  }
  const headerPart = token.slice(0, firstDot)
  const payloadPart = token.slice(firstDot + 1, secondDot)
  const signaturePart = token.slice(secondDot + 1)

  const header = headers?.get(headerPart) ?? parseHeader(headerPart, rules, headers)
  const claims = decodeJsonObject(payloadPart, 'payload')

  if (signaturePart.length === 0) throw invalid('the token has no signature', 'signature_missing')
  if (!isCanonicalBase64url(signaturePart)) {
    throw invalid('the token signature is not canonical base64url', 'non_canonical_base64url')
  }
  return {
    header,
    claims,
    // The alphabet was checked above, so latin1 is the exact ASCII byte sequence that was signed.
    signingInput: Buffer.from(token.slice(0, secondDot), 'latin1'),
    signature: Buffer.from(signaturePart, 'base64url'),
  }
}

function parseHeader(part: string, rules: Rules, headers: Map<string, Readonly<JwsHeader>> | undefined): Readonly<JwsHeader> {
  const header = decodeJsonObject(part, 'header') as JwsHeader
  checkHeader(header, rules)
  // Only flat headers (and a DPoP proof's flat `jwk`) are cached, frozen, so no caller can alter what the next
  // token's check relies on.
  if (rules.embeddedJwk) Object.freeze(header.jwk)
  if (headers !== undefined && Object.entries(header).every(([member, value]) => value === null || typeof value !== 'object'
    || (member === 'jwk' && rules.embeddedJwk && Object.values(value).every((v) => v === null || typeof v !== 'object')))) {
    if (headers.size >= HEADER_CACHE_SIZE) headers.clear()
    headers.set(part, Object.freeze(header))
  }
  return header
}

function decodeJsonObject(part: string, name: 'header' | 'payload'): Record<string, unknown> {
  if (part.length === 0) throw invalid(`the token ${name} is empty`, `${name}_missing`)
  // JWT-24: one token, one encoding; otherwise a revoked or replayed token comes back as a "different" string.
  if (!isCanonicalBase64url(part)) throw invalid(`the token ${name} is not canonical base64url`, 'non_canonical_base64url')
  let text: string
  try {
    text = UTF8.decode(Buffer.from(part, 'base64url'))
  } catch {
    throw invalid(`the token ${name} is not valid utf-8`, 'invalid_utf8')
  }
  // JWT-22: JSON.parse keeps the last duplicate, a second parser may keep the first; scan before parsing.
  const problem = scanJsonMembers(text, SIZE_LIMITS.jsonDepth)
  if (problem !== undefined) throw invalid(`the token ${name} is rejected: ${problem.replaceAll('_', ' ')}`, problem)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw invalid(`the token ${name} is not valid json`, 'invalid_json')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`the token ${name} is not a json object`, `${name}_not_object`)
  }
  return value as Record<string, unknown>
}

function checkHeader(header: Record<string, unknown>, rules: Rules): void {
  // JWT-01, JWT-04: the allow-list is exact and case-sensitive, so `none`, `None` and `HS256` never reach crypto.
  if (typeof header.alg !== 'string' || !rules.allowedAlgorithms.includes(header.alg)) {
    throw invalid('the token algorithm is not allowed', 'alg_not_allowed')
  }
  for (const [member, reason] of FORBIDDEN_HEADER_MEMBERS) {
    if (member === 'jwk' && rules.embeddedJwk) continue
    if (Object.hasOwn(header, member)) throw invalid('the token header carries a forbidden parameter', reason)
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') throw invalid('the token kid is not a string', 'kid_invalid')
  // JWT-17: explicit typing keeps access tokens, DPoP proofs, sudo tokens and assertions apart (RFC 8725 §3.11).
  if (rules.expectedTyps !== undefined && !(typeof header.typ === 'string' && rules.expectedTyps.includes(normaliseTyp(header.typ)))) {
    throw invalid('the token type is not the expected one', 'typ_mismatch')
  }
  if (rules.embeddedJwk && (header.jwk === null || typeof header.jwk !== 'object' || Array.isArray(header.jwk))) {
    throw invalid('the token header carries no jwk object', 'header_jwk_missing')
  }
}

function normaliseTyp(typ: string): string {
  const lower = typ.toLowerCase()
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower
}

function invalid(detail: string, reason: string): WritError {
  return new WritError('TOKEN_INVALID', detail, { reasons: [reason] })
}
