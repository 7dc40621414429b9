/** Test keys, claims and token builders for the verifier suites: honest tokens via jose, hostile ones by hand. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync, sign as nodeSign, type JsonWebKey, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'

export const ISSUER = 'https://writ.example'
export const AUDIENCE = 'https://api.example'
export const NOW = 1_750_000_000

export interface TestKey {
  kid: string
  alg: 'EdDSA' | 'ES256'
  privateKey: KeyObject
  publicKey: KeyObject
  publicJwk: JsonWebKey
}

export function generateTestKey(type: 'Ed25519' | 'P-256', kid: string): TestKey {
  const { publicKey, privateKey } = type === 'Ed25519'
    ? generateKeyPairSync('ed25519')
    : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return {
    kid,
    alg: type === 'Ed25519' ? 'EdDSA' : 'ES256',
    privateKey,
    publicKey,
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' },
  }
}

export function capabilityClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    sub: 'agent-7',
    client_id: 'agent-7',
    aud: AUDIENCE,
    iat: NOW,
    exp: NOW + 300,
    jti: 'jti-0001',
    authorization_details: [{ type: 'writ_action', action: 'deploy.run', resource: 'service:billing', parameters: { ref: 'v1.2.3' } }],
    task: { id: 'T-42', step: '3', purpose: 'ship the billing fix' },
    ...overrides,
  }
}

/** An honest token, signed by jose. `header` members are added to (or, when undefined, removed from) the default. */
export async function signCapability(
  key: TestKey,
  claims: Record<string, unknown> = capabilityClaims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  const protectedHeader: Record<string, unknown> = { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header }
  for (const [name, value] of Object.entries(protectedHeader)) if (value === undefined) delete protectedHeader[name]
  return new SignJWT(claims).setProtectedHeader(protectedHeader as { alg: string }).sign(key.privateKey)
}

/** base64url of raw JSON text (kept byte for byte), an object (JSON.stringify) or bytes. */
export function segment(value: string | object | Uint8Array): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64url')
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url')
}

/** A hand-built token whose segments are exactly as given, correctly signed with `key` (node:crypto). */
export function signRaw(key: TestKey, header: string | object | Uint8Array, payload: string | object | Uint8Array): string {
  const signingInput = `${segment(header)}.${segment(payload)}`
  const signature = key.alg === 'EdDSA'
    ? nodeSign(null, Buffer.from(signingInput), key.privateKey)
    : nodeSign('sha256', Buffer.from(signingInput), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
  return `${signingInput}.${signature.toString('base64url')}`
}

export function defaultHeader(key: TestKey, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...extra }
}

/** Changes the unused low bits of the last character, so the decoded bytes stay the same (RFC 7515 A.1 `EjXl`). */
export function flipUnusedBits(part: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const unusedBits = (part.length * 6) % 8
  if (unusedBits === 0) throw new Error('this segment has no unused bits')
  const last = alphabet.indexOf(part[part.length - 1]!)
  return part.slice(0, -1) + alphabet[last ^ 1]
}

export interface LoopbackServer {
  url: string
  requests: number
  close(): Promise<void>
}

/** A node:http listener on 127.0.0.1 that answers every request with `respond` and counts what it saw. */
export async function startLoopback(respond: (path: string) => { status: number; body: unknown }): Promise<LoopbackServer> {
  const state = { requests: 0 }
  const server: Server = createServer((request, response) => {
    state.requests++
    const { status, body } = respond(request.url ?? '/')
    response.writeHead(status, { 'content-type': 'application/json' })
    response.end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
