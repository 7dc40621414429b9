/**
 * Installs Writ's OpenSSH key revocation list where sshd's `RevokedKeys` points, atomically: fetch `GET /ssh/krl`,
 * write a temporary file in the same directory, fsync it, rename it over the target, fsync the directory. sshd refuses
 * every key when that file is missing or unreadable, so the target is never removed or half-written.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import type { ApiTokenSource } from './api-token-source.js'

/** PROTOCOL.krl: every KRL starts with this magic. A body without it is not installed. */
const KRL_MAGIC = Buffer.from('SSHKRL\n\0', 'latin1')
const MAX_KRL_BYTES = 64 * 1024 * 1024

export interface KrlInstallerOptions {
  /** `<issuer>/ssh/krl` */
  url: string
  path: string
  apiToken: ApiTokenSource
  fetch?: typeof fetch
  log: (entry: Record<string, unknown>) => void
}

export interface KrlInstaller {
  /** Fetches and installs if changed; concurrent calls coalesce into at most one more fetch. Never throws. */
  refresh(): Promise<'installed' | 'unchanged' | 'failed'>
}

export function createKrlInstaller(options: KrlInstallerOptions): KrlInstaller {
  const fetchImpl = options.fetch ?? fetch
  let etag: string | undefined
  let inFlight: Promise<'installed' | 'unchanged' | 'failed'> | undefined
  let queued: Promise<'installed' | 'unchanged' | 'failed'> | undefined

  async function fetchAndInstall(): Promise<'installed' | 'unchanged' | 'failed'> {
    try {
      let refresh = false
      for (let attempt = 0; attempt < 2; attempt++) {
        const token = await options.apiToken(refresh)
        const response = await fetchImpl(options.url, {
          headers: { authorization: `Bearer ${token}`, accept: 'application/octet-stream', ...(etag !== undefined ? { 'if-none-match': etag } : {}) },
          signal: AbortSignal.timeout(10_000),
        })
        if (response.status === 401 && !refresh) {
          await response.arrayBuffer().catch(() => undefined)
          refresh = true
          continue
        }
        if (response.status === 304) return 'unchanged'
        if (response.status !== 200) throw new Error(`GET /ssh/krl answered ${response.status}`)
        const body = Buffer.from(await response.arrayBuffer())
        if (body.length > MAX_KRL_BYTES || body.length < KRL_MAGIC.length || !body.subarray(0, KRL_MAGIC.length).equals(KRL_MAGIC)) {
          throw new Error('GET /ssh/krl did not return a KRL')
        }
        installAtomically(options.path, body)
        etag = response.headers.get('etag') ?? undefined
        options.log({ event: 'krl.installed', bytes: body.length, path: options.path })
        return 'installed'
      }
      throw new Error('GET /ssh/krl refused the host API token')
    } catch (error) {
      options.log({ event: 'krl.failed', error: String((error as Error).message ?? error) })
      return 'failed'
    }
  }

  return {
    refresh() {
      if (inFlight === undefined) {
        inFlight = fetchAndInstall().finally(() => { inFlight = undefined })
        return inFlight
      }
      // A revocation that arrives during a fetch needs a fetch that starts after it: queue exactly one.
      queued ??= inFlight.then(() => {
        queued = undefined
        inFlight = fetchAndInstall().finally(() => { inFlight = undefined })
        return inFlight
      })
      return queued
    },
  }
}

export function installAtomically(path: string, body: Buffer, mode = 0o644): void {
  const directory = dirname(path)
  const temporary = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(temporary, 'wx', mode)
  try {
    let written = 0
    while (written < body.length) written += writeSync(fd, body, written)
    fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    rmSync(temporary, { force: true })
    throw error
  }
  closeSync(fd)
  try {
    renameSync(temporary, path)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
  const dirFd = openSync(directory, 'r')
  try {
    fsyncSync(dirFd)
  } finally {
    closeSync(dirFd)
  }
}
