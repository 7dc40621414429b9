/**
 * Renews the SSH host certificate before it expires: reads `valid_before` from the installed certificate (the
 * PROTOCOL.certkeys wire format, read only as far as that field), and when less than `renewBeforeSeconds` is left asks
 * `POST /ssh/host-certificate` for a new one and installs it by write-then-rename. sshd re-executes itself for each
 * connection and the new process reads `HostCertificate` from disk, so the new one is presented from the next
 * connection on, without a reload (unless sshd runs with `-r`).
 */
import { readFileSync } from 'node:fs'
import type { ApiTokenSource } from './api-token-source.js'
import { installAtomically } from './krl-installer.js'

/** Renew when less than this is left: a third of the default 30-day lifetime. */
export const DEFAULT_RENEW_BEFORE_SECONDS = 10 * 24 * 3600

export interface HostCertificateRenewalOptions {
  /** `<issuer>/ssh/host-certificate` */
  url: string
  publicKeyPath: string
  certificatePath: string
  apiToken: ApiTokenSource
  renewBeforeSeconds?: number
  fetch?: typeof fetch
  /** The host agent's clock (it owns the one reader of the system time). */
  nowSeconds: () => number
  log: (entry: Record<string, unknown>) => void
}

/** Returns 'renewed', 'current' or 'failed'; never throws. */
export async function renewHostCertificateIfDue(options: HostCertificateRenewalOptions): Promise<'renewed' | 'current' | 'failed'> {
  const now = options.nowSeconds()
  try {
    let validBefore: number | undefined
    try {
      validBefore = certificateValidBefore(readFileSync(options.certificatePath, 'utf8'))
    } catch {
      validBefore = undefined // missing or unreadable: renew
    }
    if (validBefore !== undefined && validBefore - now > (options.renewBeforeSeconds ?? DEFAULT_RENEW_BEFORE_SECONDS)) return 'current'
    const publicKey = readFileSync(options.publicKeyPath, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')
    const response = await (options.fetch ?? fetch)(options.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${await options.apiToken(false)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: publicKey }),
      signal: AbortSignal.timeout(10_000),
    })
    const body = await response.json().catch(() => undefined) as { certificate?: unknown } | undefined
    if ((response.status !== 200 && response.status !== 201) || typeof body?.certificate !== 'string') {
      throw new Error(`POST /ssh/host-certificate answered ${response.status}`)
    }
    const renewed = certificateValidBefore(body.certificate)
    installAtomically(options.certificatePath, Buffer.from(`${body.certificate.trim()}\n`))
    options.log({ event: 'host_certificate.renewed', valid_before: renewed })
    return 'renewed'
  } catch (error) {
    options.log({ event: 'host_certificate.renewal_failed', error: (error as Error).message })
    return 'failed'
  }
}

/**
 * `valid_before` of an OpenSSH certificate line. Layout (PROTOCOL.certkeys): string type, string nonce, the key's
 * public fields (Ed25519: one string; ECDSA: two strings), uint64 serial, uint32 type, string key id, string
 * principals, uint64 valid_after, uint64 valid_before.
 */
export function certificateValidBefore(line: string): number {
  const [type, base64] = line.trim().split(/\s+/)
  if (type === undefined || base64 === undefined || !type.endsWith('-cert-v01@openssh.com')) throw new Error('not an OpenSSH certificate')
  const blob = Buffer.from(base64, 'base64')
  let at = 0
  const skipString = () => {
    if (at + 4 > blob.length) throw new Error('truncated certificate')
    const length = blob.readUInt32BE(at)
    at += 4 + length
    if (at > blob.length) throw new Error('truncated certificate')
  }
  const keyStrings = type.startsWith('ssh-ed25519') ? 1 : type.startsWith('ecdsa-sha2-') ? 2 : -1
  if (keyStrings < 0) throw new Error('unsupported certificate type')
  skipString() // type
  skipString() // nonce
  for (let i = 0; i < keyStrings; i++) skipString()
  at += 8 + 4 // serial, type
  skipString() // key id
  skipString() // principals
  at += 8 // valid_after
  if (at + 8 > blob.length) throw new Error('truncated certificate')
  const validBefore = blob.readBigUInt64BE(at)
  return validBefore > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(validBefore)
}
