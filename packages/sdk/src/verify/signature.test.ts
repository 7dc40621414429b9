import { generateKeyPairSync, sign, type JsonWebKey } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { WritError } from '../errors/writ-error.js'
import { generateTestKey } from './capability-token.fixture.js'
import { importVerificationKey, keyTypeOf, verifyJwsSignature } from './signature.js'

const ed = generateTestKey('Ed25519', 'ed')
const ec = generateTestKey('P-256', 'ec')
const message = Buffer.from('header.payload')

function importRejection(jwk: unknown): WritError {
  try {
    importVerificationKey(jwk as JsonWebKey)
  } catch (error) {
    expect(error).toBeInstanceOf(WritError)
    return error as WritError
  }
  throw new Error('the key was imported')
}

describe('importVerificationKey', () => {
  it('imports Ed25519 and P-256 public JWKs', () => {
    expect(keyTypeOf(importVerificationKey(ed.publicJwk))).toBe('Ed25519')
    expect(keyTypeOf(importVerificationKey(ec.publicJwk))).toBe('P-256')
    expect(keyTypeOf(importVerificationKey({ ...ec.publicJwk, key_ops: ['verify'], alg: 'ES256' }))).toBe('P-256')
  })

  it('refuses a JWK that carries private material', () => {
    const edPrivate = ed.privateKey.export({ format: 'jwk' })
    const ecPrivate = ec.privateKey.export({ format: 'jwk' })
    expect(importRejection(edPrivate).reasons).toEqual(['key_private'])
    expect(importRejection(ecPrivate).reasons).toEqual(['key_private'])
    for (const member of ['p', 'q', 'dp', 'dq', 'qi', 'oth']) {
      expect(importRejection({ ...ec.publicJwk, [member]: 'AA' }).reasons).toEqual(['key_private'])
    }
  })

  it('refuses symmetric, RSA, other curves and malformed keys', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' })
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' })
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' })
    expect(importRejection({ kty: 'oct', k: 'c2VjcmV0' }).reasons).toEqual(['key_type_unsupported'])
    for (const jwk of [rsa, p384, x25519, { kty: 'OKP', crv: 'Ed448', x: ed.publicJwk.x }, { kty: 'EC', crv: 'P-256', x: ec.publicJwk.x }]) {
      expect(importRejection(jwk).reasons).toEqual(['key_type_unsupported'])
    }
    expect(importRejection({ ...ed.publicJwk, x: `${ed.publicJwk.x}=` }).reasons).toEqual(['key_type_unsupported'])
    expect(importRejection(null).reasons).toEqual(['key_malformed'])
    expect(importRejection({ ...ec.publicJwk, y: ec.publicJwk.x }).code).toBe('KEY_NOT_FOUND')
  })

  it('refuses keys published for encryption or without the verify operation', () => {
    expect(importRejection({ ...ed.publicJwk, use: 'enc' }).reasons).toEqual(['key_use_not_sig'])
    expect(importRejection({ ...ed.publicJwk, key_ops: ['encrypt'] }).reasons).toEqual(['key_ops_not_verify'])
    expect(importRejection({ ...ed.publicJwk, key_ops: 'verify' }).reasons).toEqual(['key_ops_not_verify'])
  })
})

describe('verifyJwsSignature', () => {
  const edSignature = sign(null, message, ed.privateKey)
  const ecSignature = sign('sha256', message, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })

  it('accepts a good Ed25519 signature under both EdDSA and Ed25519 and a good ES256 signature', () => {
    expect(verifyJwsSignature('EdDSA', ed.publicKey, message, edSignature)).toBe(true)
    expect(verifyJwsSignature('Ed25519', ed.publicKey, message, edSignature)).toBe(true)
    expect(verifyJwsSignature('ES256', ec.publicKey, message, ecSignature)).toBe(true)
  })

  it('returns false, never throws, for a bad signature, a wrong length or an empty one', () => {
    const flipped = Buffer.from(edSignature)
    flipped[10]! ^= 1
    expect(verifyJwsSignature('EdDSA', ed.publicKey, message, flipped)).toBe(false)
    expect(verifyJwsSignature('EdDSA', ed.publicKey, message, edSignature.subarray(0, 60))).toBe(false)
    expect(verifyJwsSignature('EdDSA', ed.publicKey, message, Buffer.alloc(0))).toBe(false)
    expect(verifyJwsSignature('ES256', ec.publicKey, message, Buffer.concat([ecSignature, Buffer.alloc(1)]))).toBe(false)
    const der = sign('sha256', message, ec.privateKey)
    expect(verifyJwsSignature('ES256', ec.publicKey, message, der)).toBe(false)
  })

  it('rejects the psychic signature r = s = 0', () => {
    expect(verifyJwsSignature('ES256', ec.publicKey, message, Buffer.alloc(64))).toBe(false)
  })

  it('refuses algorithm confusion between key types and every other algorithm', () => {
    expect(verifyJwsSignature('ES256', ed.publicKey, message, edSignature)).toBe(false)
    expect(verifyJwsSignature('EdDSA', ec.publicKey, message, ecSignature)).toBe(false)
    for (const alg of ['HS256', 'none', 'RS256', 'ES384', 'eddsa']) {
      expect(verifyJwsSignature(alg, ed.publicKey, message, edSignature)).toBe(false)
    }
    expect(verifyJwsSignature('EdDSA', ed.privateKey, message, edSignature)).toBe(false)
  })
})
