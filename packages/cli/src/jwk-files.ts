/** Key files: read an agent's public JWK/JWKS or private JWK, and write a new pair (private file 0600). */
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs'
import type { JsonWebKey } from 'node:crypto'
import { WritError } from '@writ/sdk'
import { readTextFile } from './read-text-file.js'

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const
const MAX_KEY_FILE_BYTES = 64 * 1024

/** The public keys in a JWK or JWKS file. A private key is refused: it must never be sent to the server. */
export function readPublicKeys(file: string): Record<string, unknown>[] {
  const value = readJsonObject(file)
  const keys = Array.isArray(value.keys) ? (value.keys as unknown[]) : [value]
  if (keys.length === 0) throw new WritError('REQUEST_INVALID', `\`${file}\` holds no keys`)
  return keys.map((key, index) => {
    if (key === null || typeof key !== 'object' || Array.isArray(key)) {
      throw new WritError('REQUEST_INVALID', `\`${file}\`: key ${index} is not a JWK`)
    }
    if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(key, member))) {
      throw new WritError('REQUEST_INVALID', `\`${file}\` holds a private key; pass the public key file (e.g. \`agent.pub.jwk\`)`)
    }
    return key as Record<string, unknown>
  })
}

/** The agent's private JWK, for signing client assertions in this process only. */
export function readPrivateKey(file: string): JsonWebKey {
  const value = readJsonObject(file)
  if (typeof value.d !== 'string') {
    throw new WritError('REQUEST_INVALID', `\`${file}\` is not a private JWK; pass the private key file (e.g. \`agent.jwk\`)`)
  }
  return value as JsonWebKey
}

/**
 * Writes a JSON file. A private file is created with mode 0600 and its mode is set again before any byte is written,
 * so an existing file with looser permissions (under --force) never holds the key while readable by others.
 */
export function writeJsonFile(file: string, value: unknown, options: { secret: boolean; overwrite: boolean }): void {
  let fd: number
  try {
    fd = openSync(file, options.overwrite ? 'w' : 'wx', options.secret ? 0o600 : 0o644)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    const hint = code === 'EEXIST' ? ' (it exists; pass --force to replace it)' : ''
    throw new WritError('REQUEST_INVALID', `cannot write \`${file}\`: ${code ?? 'error'}${hint}`, { cause })
  }
  try {
    if (options.secret) fchmodSync(fd, 0o600)
    writeSync(fd, `${JSON.stringify(value, null, 2)}\n`)
  } finally {
    closeSync(fd)
  }
}

function readJsonObject(file: string): Record<string, unknown> {
  const text = readTextFile(file)
  if (text.length > MAX_KEY_FILE_BYTES) throw new WritError('REQUEST_INVALID', `\`${file}\` is too large for a key file`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new WritError('REQUEST_INVALID', `\`${file}\` is not valid JSON (expected a JWK or JWKS)`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WritError('REQUEST_INVALID', `\`${file}\` must hold a JWK or a JWKS object`)
  }
  return value as Record<string, unknown>
}
