/** Signing keys kept in one file in the data directory (mode 0600), AES-256-GCM encrypted when a KEK is configured. */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { calculateJwkThumbprint, type JWK, type JSONWebKeySet } from 'jose'
import { LIFETIMES, WritError, type SigningAlgorithm } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { KeyInfo, KeyManager, SigningJws } from './key-manager.js'

interface StoredKey {
  kid: string
  alg: SigningAlgorithm
  created_at: number
  retired_at: number | null
  /** Absent in files written before revocation existed. */
  revoked_at?: number | null
  private_jwk: JWK
}

interface LoadedKey extends KeyInfo {
  privateKey: KeyObject
  publicJwk: JWK
  /** base64url of the protected header prefix per typ, cached: the header never changes for a key. */
  headers: Map<string, string>
}

export interface FileKeyManagerOptions {
  /** Keyset file; undefined keeps keys in memory only (tests, `writ demo`). */
  file: string | undefined
  algorithm: SigningAlgorithm
  /** base64 of 32 bytes; when set the file is encrypted at rest. */
  encryptionKey?: string
  clock: Clock
}

// A retired key stays published for the longest token lifetime plus leeway, so every token it signed still verifies.
const OVERLAP_MS = (LIFETIMES.capabilityMax + LIFETIMES.maxLeeway) * 1000

export class FileKeyManager implements KeyManager {
  private keys: LoadedKey[] = []

  private constructor(private readonly options: FileKeyManagerOptions, private readonly kek: Buffer | undefined) {}

  static async open(options: FileKeyManagerOptions): Promise<FileKeyManager> {
    const kek = options.encryptionKey === undefined ? undefined : decodeKek(options.encryptionKey)
    const manager = new FileKeyManager(options, kek)
    const stored = options.file && existsSync(options.file) ? manager.readFile(options.file) : []
    manager.keys = stored.map(load)
    if (manager.keys.length === 0) await manager.rotate()
    else if (options.file && kek && !isEncryptedFile(options.file)) manager.persist()
    return manager
  }

  sign(typ: string, claims: Record<string, unknown>): SigningJws {
    const key = this.currentKey()
    let header = key.headers.get(typ)
    if (header === undefined) {
      header = Buffer.from(JSON.stringify({ alg: key.alg, typ, kid: key.kid })).toString('base64url')
      key.headers.set(typ, header)
    }
    const signingInput = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
    // With a callback node:crypto signs on libuv's thread pool, off the event loop that serves the requests.
    const jws = new Promise<string>((resolve, reject) => {
      const done = (error: Error | null, signature: Buffer): void => {
        if (error) reject(error)
        else resolve(`${signingInput}.${signature.toString('base64url')}`)
      }
      if (key.alg === 'EdDSA') sign(null, Buffer.from(signingInput), key.privateKey, done)
      else sign('sha256', Buffer.from(signingInput), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }, done)
    })
    return { kid: key.kid, jws }
  }

  jwks(): JSONWebKeySet {
    const now = this.options.clock.nowMs()
    return {
      keys: this.keys.filter((k) => k.revokedAt === null && (k.retiredAt === null || k.retiredAt + OVERLAP_MS > now)).map((k) => ({ ...k.publicJwk })),
    }
  }

  list(): KeyInfo[] {
    return this.keys.map(info)
  }

  current(): KeyInfo {
    return info(this.currentKey())
  }

  revoke(kid: string): boolean {
    const key = this.keys.find((k) => k.kid === kid)
    if (key === undefined || key.revokedAt !== null) return false
    if (key === this.currentKey()) throw new TypeError('rotate before revoking the current signing key')
    const now = this.options.clock.nowMs()
    key.revokedAt = now
    key.retiredAt ??= now
    // Kept in the file (marked) until its overlap has passed, so a restart cannot bring it back into the JWKS.
    this.persist()
    return true
  }

  async rotate(): Promise<KeyInfo> {
    const now = this.options.clock.nowMs()
    const privateJwk = generate(this.options.algorithm)
    const kid = await calculateJwkThumbprint(publicPart(privateJwk))
    for (const key of this.keys) if (key.retiredAt === null) key.retiredAt = now
    // Keys past their overlap are dropped: nothing they signed can still be valid.
    this.keys = this.keys.filter((k) => k.retiredAt === null || k.retiredAt + OVERLAP_MS > now)
    this.keys.push(load({ kid, alg: this.options.algorithm, created_at: now, retired_at: null, revoked_at: null, private_jwk: privateJwk }))
    this.persist()
    return this.current()
  }

  private currentKey(): LoadedKey {
    const key = this.keys.at(-1)
    if (!key) throw new TypeError('the key manager holds no key')
    // INVARIANT: rotate() appends the new current key and revoke() refuses the current one, so this never signs revoked.
    if (key.revokedAt !== null) throw new TypeError('the current signing key is revoked')
    return key
  }

  private persist(): void {
    const file = this.options.file
    if (!file) return
    const stored: StoredKey[] = this.keys.map((k) => ({
      kid: k.kid, alg: k.alg, created_at: k.createdAt, retired_at: k.retiredAt, revoked_at: k.revokedAt,
      private_jwk: k.privateKey.export({ format: 'jwk' }) as JWK,
    }))
    const body = JSON.stringify({ version: 1, keys: stored })
    const content = this.kek ? JSON.stringify({ version: 1, encrypted: encrypt(this.kek, body) }) : body
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    // Write-then-rename so a crash never leaves a half-written keyset; mode 0600 from the first byte.
    const temporary = `${file}.${process.pid}.tmp`
    writeFileSync(temporary, content, { mode: 0o600 })
    chmodSync(temporary, 0o600)
    renameSync(temporary, file)
  }

  private readFile(file: string): StoredKey[] {
    let parsed: { version?: number; keys?: StoredKey[]; encrypted?: Sealed }
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as typeof parsed
    } catch (cause) {
      throw new WritError('CONFIG_INVALID', `the signing keyset \`${file}\` cannot be read`, { cause })
    }
    if (parsed.encrypted) {
      if (!this.kek) throw new WritError('CONFIG_INVALID', 'the signing keyset is encrypted; set keys.encryptionKey')
      parsed = JSON.parse(decrypt(this.kek, parsed.encrypted)) as typeof parsed
    }
    if (!Array.isArray(parsed.keys)) throw new WritError('CONFIG_INVALID', `the signing keyset \`${file}\` is malformed`)
    return parsed.keys
  }
}

export interface Sealed { alg: 'A256GCM'; iv: string; tag: string; ciphertext: string }

/** AES-256-GCM under the KEK (also the SSH CA file, ssh/ssh-certificate-authorities.ts). */
export function encrypt(kek: Buffer, plaintext: string): Sealed {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', kek, iv)
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return { alg: 'A256GCM', iv: iv.toString('base64url'), tag: cipher.getAuthTag().toString('base64url'), ciphertext: ciphertext.toString('base64url') }
}

export function decrypt(kek: Buffer, sealed: Sealed): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(sealed.iv, 'base64url'))
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64url')), decipher.final()]).toString('utf8')
  } catch (cause) {
    throw new WritError('CONFIG_INVALID', 'the signing keyset cannot be decrypted with keys.encryptionKey', { cause })
  }
}

export function decodeKek(value: string): Buffer {
  const kek = Buffer.from(value, 'base64')
  if (kek.length !== 32) throw new WritError('CONFIG_INVALID', 'keys.encryptionKey must be base64 of exactly 32 bytes')
  return kek
}

function isEncryptedFile(file: string): boolean {
  try { return 'encrypted' in (JSON.parse(readFileSync(file, 'utf8')) as object) } catch { return false }
}

function info({ kid, alg, createdAt, retiredAt, revokedAt }: LoadedKey): KeyInfo {
  return { kid, alg, createdAt, retiredAt, revokedAt }
}

function generate(alg: SigningAlgorithm): JWK {
  const { privateKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return privateKey.export({ format: 'jwk' }) as JWK
}

function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk
  return y === undefined ? { kty, crv, x } : { kty, crv, x, y }
}

function load(stored: StoredKey): LoadedKey {
  const privateKey = createPrivateKey({ key: stored.private_jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
  return {
    kid: stored.kid, alg: stored.alg, createdAt: stored.created_at, retiredAt: stored.retired_at, revokedAt: stored.revoked_at ?? null, privateKey,
    publicJwk: { ...publicJwk, kid: stored.kid, alg: stored.alg, use: 'sig' }, headers: new Map(),
  }
}
