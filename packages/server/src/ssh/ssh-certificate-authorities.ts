/**
 * Writ's two SSH certificate authorities (user CA, host CA): Ed25519 keys made on first start and kept like the token
 * signing keys, in one 0600 file in the data directory (`keys/ssh-ca.json`), AES-256-GCM encrypted when
 * `keys.encryptionKey` is set. Replicas sharing PostgreSQL share the data directory's key files (docs/deployment.md):
 * a host trusts exactly one user CA, so every replica must sign with the same one.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { WritError } from '@writ/sdk'
import { decodeKek, decrypt, encrypt, type Sealed } from '../keys/file-key-manager.js'
import { ed25519PublicKey, type SshPublicKey } from './ssh-public-key.js'

export interface SshCa {
  privateKey: KeyObject
  publicKey: SshPublicKey
}

export interface SshCertificateAuthorities {
  user: SshCa
  host: SshCa
}

interface StoredCas {
  version: 1
  user: { private_jwk: Record<string, unknown>; created_at: number }
  host: { private_jwk: Record<string, unknown>; created_at: number }
}

/** Opens the CA file, creating both CAs when it does not exist; without a file they live in memory (tests, demo). */
export function openSshCertificateAuthorities(options: { file: string | undefined; encryptionKey?: string | undefined; nowMs: number }): SshCertificateAuthorities {
  const kek = options.encryptionKey === undefined ? undefined : decodeKek(options.encryptionKey)
  let stored: StoredCas
  if (options.file && existsSync(options.file)) {
    stored = read(options.file, kek)
  } else {
    stored = { version: 1, user: generated(options.nowMs), host: generated(options.nowMs) }
    if (options.file) write(options.file, stored, kek)
  }
  return { user: load(stored.user.private_jwk), host: load(stored.host.private_jwk) }
}

function generated(nowMs: number): StoredCas['user'] {
  return { private_jwk: generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as Record<string, unknown>, created_at: nowMs }
}

function load(jwk: Record<string, unknown>): SshCa {
  const privateKey = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
  return { privateKey, publicKey: ed25519PublicKey(privateKey) }
}

function write(file: string, stored: StoredCas, kek: Buffer | undefined): void {
  const body = JSON.stringify(stored)
  const content = kek ? JSON.stringify({ version: 1, encrypted: encrypt(kek, body) }) : body
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  // Write-then-rename, 0600 from the first byte: a crash never leaves half a CA, and no other user reads it.
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, content, { mode: 0o600, flag: 'wx' })
  chmodSync(temporary, 0o600)
  renameSync(temporary, file)
}

function read(file: string, kek: Buffer | undefined): StoredCas {
  let parsed: Partial<StoredCas> & { encrypted?: Sealed }
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as typeof parsed
    if (parsed.encrypted) {
      if (!kek) throw new WritError('CONFIG_INVALID', 'the SSH CA file is encrypted; set keys.encryptionKey')
      parsed = JSON.parse(decrypt(kek, parsed.encrypted)) as typeof parsed
    }
  } catch (cause) {
    if (cause instanceof WritError) throw cause
    throw new WritError('CONFIG_INVALID', `the SSH CA file \`${file}\` cannot be read`, { cause })
  }
  if (parsed.version !== 1 || !parsed.user?.private_jwk || !parsed.host?.private_jwk) throw new WritError('CONFIG_INVALID', `the SSH CA file \`${file}\` is malformed`)
  return parsed as StoredCas
}
