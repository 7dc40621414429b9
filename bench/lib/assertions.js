/**
 * RFC 7523 client assertions for the load generator: EdDSA JWS signed with node:crypto (no jose on the hot path),
 * a fresh jti each. Signed before a timed phase so that the client's CPU does not compete with the server's.
 */
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto'

const b64url = (value) => Buffer.from(value).toString('base64url')

/** An Ed25519 key pair: the private KeyObject and the public JWK (with kid). */
export function agentKey(kid) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const jwk = publicKey.export({ format: 'jwk' })
  return { privateKey, publicJwk: { ...jwk, kid, alg: 'EdDSA', use: 'sig' } }
}

/**
 * A source of fresh assertions. `presign(n)` signs n now; `next()` hands out one never handed out before,
 * signing on the spot only if the presigned ones ran out or are about to expire (counted in `signedLate`).
 */
export class AssertionSource {
  /**
   * @param {object} o
   * @param {import('node:crypto').KeyObject} o.privateKey
   * @param {string} o.kid
   * @param {string} o.clientId  iss and sub
   * @param {string} o.audience  aud
   * @param {number} [o.lifetimeSeconds]  exp - iat (servers cap it at 300 s)
   */
  constructor({ privateKey, kid, clientId, audience, lifetimeSeconds = 120 }) {
    this.privateKey = privateKey
    this.clientId = clientId
    this.audience = audience
    this.lifetime = lifetimeSeconds
    this.header = b64url(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid }))
    this.pool = []
    this.head = 0
    this.signedLate = 0
    this.discarded = 0
  }

  sign() {
    const iat = Math.floor(Date.now() / 1000)
    const payload = b64url(JSON.stringify({
      iss: this.clientId, sub: this.clientId, aud: this.audience, jti: randomUUID(), iat, exp: iat + this.lifetime,
    }))
    const input = `${this.header}.${payload}`
    return { jws: `${input}.${sign(null, Buffer.from(input), this.privateKey).toString('base64url')}`, exp: iat + this.lifetime }
  }

  /** Signs n more assertions now; returns the seconds it took. */
  presign(n) {
    const start = performance.now()
    if (this.head > 0) { this.pool = this.pool.slice(this.head); this.head = 0 }
    for (let i = 0; i < n; i++) this.pool.push(this.sign())
    return (performance.now() - start) / 1000
  }

  get available() { return this.pool.length - this.head }

  next() {
    const minExp = Date.now() / 1000 + 15
    while (this.head < this.pool.length) {
      const item = this.pool[this.head]
      this.pool[this.head++] = undefined
      if (item.exp > minExp) return item.jws
      this.discarded++
    }
    this.signedLate++
    return this.sign().jws
  }

  /** Drops whatever is left (so a later phase never reuses an old, nearly expired assertion). */
  clear() { this.pool = []; this.head = 0 }
}
