import { readFileSync } from 'node:fs'
import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isCanonicalBase64url, parseCompactJws } from './compact-jws.js'
import { importVerificationKey, verifyJwsSignature } from './signature.js'

// Project Wycheproof's vectors, copied unchanged into the SDK with their origin and licence (test-vectors/README.md).
const vectorDirectory = new URL('../../test-vectors/wycheproof/', import.meta.url)

interface Vector { tcId: number; comment: string; flags: string[]; result: 'valid' | 'invalid' | 'acceptable' }
interface SignatureVector extends Vector { msg: string; sig: string }
interface SignatureGroup { publicKeyJwk?: JsonWebKey; publicKeyDer: string; tests: SignatureVector[] }
interface JwsVector extends Vector { jws: string }
interface JwsGroup { comment: string; public?: JsonWebKey; private?: JsonWebKey; tests: JwsVector[] }

function load<G>(name: string): { numberOfTests: number; testGroups: G[] } {
  return JSON.parse(readFileSync(new URL(name, vectorDirectory), 'utf8')) as { numberOfTests: number; testGroups: G[] }
}

/**
 * Rule for `acceptable`: Writ is a strict verifier, so an encoding that is merely tolerated must be rejected.
 * None of the four files has an `acceptable` vector today; the counts below make a new one visible.
 */
function expectedAccept(vector: Vector): boolean {
  return vector.result === 'valid'
}

/** The signature vectors through Writ's own path: JWK import when the group has one, else the SPKI DER. */
function runSignatureFile(file: string, alg: 'EdDSA' | 'ES256') {
  const data = load<SignatureGroup>(file)
  const disagreements: number[] = []
  let total = 0
  let acceptable = 0
  for (const group of data.testGroups) {
    const key: KeyObject = group.publicKeyJwk !== undefined
      ? importVerificationKey(group.publicKeyJwk)
      : createPublicKey({ key: Buffer.from(group.publicKeyDer, 'hex'), format: 'der', type: 'spki' })
    for (const vector of group.tests) {
      total++
      if (vector.result === 'acceptable') acceptable++
      const accepted = verifyJwsSignature(alg, key, Buffer.from(vector.msg, 'hex'), Buffer.from(vector.sig, 'hex'))
      if (accepted !== expectedAccept(vector)) disagreements.push(vector.tcId)
    }
  }
  return { declared: data.numberOfTests, total, acceptable, disagreements }
}

describe('Wycheproof signature vectors', () => {
  it('verifyJwsSignature agrees with every Ed25519 vector', () => {
    const result = runSignatureFile('ed25519_test.json', 'EdDSA')
    console.log(`wycheproof ed25519: ${result.total} vectors, ${result.disagreements.length} disagreements`)
    expect(result.total).toBe(result.declared)
    expect(result.acceptable).toBe(0)
    expect(result.disagreements).toEqual([])
  })

  it('verifyJwsSignature agrees with every P-256 P1363 vector', () => {
    const result = runSignatureFile('ecdsa_secp256r1_sha256_p1363_test.json', 'ES256')
    console.log(`wycheproof ecdsa p1363: ${result.total} vectors, ${result.disagreements.length} disagreements`)
    expect(result.total).toBe(result.declared)
    expect(result.acceptable).toBe(0)
    expect(result.disagreements).toEqual([])
  })

  it('node:crypto agrees with every P-256 DER vector, as a baseline', () => {
    const data = load<SignatureGroup>('ecdsa_secp256r1_sha256_test.json')
    const disagreements: number[] = []
    let total = 0
    for (const group of data.testGroups) {
      const key = createPublicKey({ key: Buffer.from(group.publicKeyDer, 'hex'), format: 'der', type: 'spki' })
      for (const vector of group.tests) {
        total++
        let accepted: boolean
        try {
          accepted = verify('sha256', Buffer.from(vector.msg, 'hex'), key, Buffer.from(vector.sig, 'hex'))
        } catch {
          accepted = false
        }
        if (accepted !== expectedAccept(vector)) disagreements.push(vector.tcId)
      }
    }
    console.log(`wycheproof ecdsa der (node:crypto baseline): ${total} vectors, ${disagreements.length} disagreements`)
    expect(total).toBe(data.numberOfTests)
    expect(disagreements).toEqual([])
  })
})

/**
 * JWS vectors, through parseCompactJws + importVerificationKey + verifyJwsSignature. Writ verifies only EdDSA and
 * ES256; a vector for any other algorithm or key type is "unsupported": an invalid one must be rejected (agreement),
 * a valid one must be rejected too (Writ's profile) and is counted apart, not as agreement.
 */
const JWS_EXCEPTIONS = new Map<number, string>([
  [18, 'valid ES256 JWS over the payload `foo`, which is not a JWT claims set (RFC 7519 §7.2); the signature layer accepts it'],
  [378, 'valid ES256 JWS over the payload `foo`, which is not a JWT claims set (RFC 7519 §7.2); the signature layer accepts it'],
])

function isSupportedKey(jwk: JsonWebKey | undefined): boolean {
  if (jwk === undefined) return false
  const supportedAlg = jwk.alg === undefined || jwk.alg === 'ES256' || jwk.alg === 'EdDSA'
  return supportedAlg && ((jwk.kty === 'EC' && jwk.crv === 'P-256') || (jwk.kty === 'OKP' && jwk.crv === 'Ed25519'))
}

function pipelineAccepts(jws: string, jwk: JsonWebKey | undefined): boolean {
  try {
    const parsed = parseCompactJws(jws, { allowedAlgorithms: ['EdDSA', 'Ed25519', 'ES256'] })
    if (jwk === undefined) return false
    return verifyJwsSignature(parsed.header.alg, importVerificationKey(jwk), parsed.signingInput, parsed.signature)
  } catch {
    return false
  }
}

/** The same vector with only the JWS structure and signature checked, so payload-shape rules do not mask crypto. */
function signatureLayerAccepts(jws: string, jwk: JsonWebKey | undefined): boolean {
  const parts = jws.split('.')
  if (parts.length !== 3 || jwk === undefined || !parts.every((part) => part.length > 0 && isCanonicalBase64url(part))) return false
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as { alg?: unknown }
    if (typeof header.alg !== 'string') return false
    const signingInput = Buffer.from(`${parts[0]}.${parts[1]}`, 'latin1')
    return verifyJwsSignature(header.alg, importVerificationKey(jwk), signingInput, Buffer.from(parts[2]!, 'base64url'))
  } catch {
    return false
  }
}

describe('Wycheproof JSON Web Signature vectors', () => {
  const data = load<JwsGroup>('json_web_signature_test.json')

  it('the compact JWS pipeline agrees with every vector outside the listed exceptions', () => {
    const counts = { total: 0, agree: 0, unsupportedValidRejected: 0, exceptions: 0, acceptable: 0 }
    const disagreements: number[] = []
    for (const group of data.testGroups) {
      const supported = isSupportedKey(group.public)
      for (const vector of group.tests) {
        counts.total++
        if (vector.result === 'acceptable') counts.acceptable++
        const accepted = pipelineAccepts(vector.jws, group.public)
        if (!supported && vector.result === 'valid') {
          // Writ's profile refuses HMAC, RSA and P-521 outright; accepting one would be the failure.
          if (accepted) disagreements.push(vector.tcId)
          else counts.unsupportedValidRejected++
        } else if (accepted === expectedAccept(vector)) {
          counts.agree++
        } else if (JWS_EXCEPTIONS.has(vector.tcId)) {
          counts.exceptions++
        } else {
          disagreements.push(vector.tcId)
        }
      }
    }
    console.log(`wycheproof jws: ${JSON.stringify(counts)}; exceptions: ${[...JWS_EXCEPTIONS.keys()].join(', ')}`)
    expect(counts.total).toBe(data.numberOfTests)
    expect(counts.acceptable).toBe(0)
    expect(disagreements).toEqual([])
    expect(counts.exceptions).toBe(JWS_EXCEPTIONS.size)
    expect(JWS_EXCEPTIONS.size).toBeLessThanOrEqual(12)
  })

  it('the signature layer agrees with every vector for a key type Writ supports, exceptions included', () => {
    const disagreements: number[] = []
    let total = 0
    for (const group of data.testGroups.filter((g) => isSupportedKey(g.public))) {
      for (const vector of group.tests) {
        total++
        if (signatureLayerAccepts(vector.jws, group.public) !== expectedAccept(vector)) disagreements.push(vector.tcId)
      }
    }
    console.log(`wycheproof jws signature layer (P-256 groups): ${total} vectors, ${disagreements.length} disagreements`)
    expect(total).toBeGreaterThan(30)
    expect(disagreements).toEqual([])
  })
})
