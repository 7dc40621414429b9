/**
 * Finds the server and the admin credential: flags, then WRIT_* environment, then the login profile, then
 * `<data-dir>/server.json` and `admin-token`. Each value remembers where it came from, so errors can say.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { WritError } from '@writ/sdk'
import { AdminClient } from './admin-client.js'
import { displayPath, readProfile } from './cli-profile.js'

/** The options every command accepts (declared once, on the program). */
export interface GlobalOptions {
  url?: string
  adminUrl?: string
  adminToken?: string
  dataDir?: string
}

export interface ServerLocation {
  /** The data directory as the user named it, for messages. */
  dataDir: string
  publicUrl: string | undefined
  adminUrl: string | undefined
  adminToken: string | undefined
  /** Where the admin address came from. */
  adminSource: 'flag' | 'env' | 'profile' | 'server.json' | undefined
  /** Where each value came from, in words for messages (`WRIT_ADMIN_TOKEN`, `the profile in ~/.config/writ/profile.json`). */
  sources: { publicUrl?: string; adminUrl?: string; adminToken?: string }
}

interface ServerFile {
  public_url?: unknown
  admin_url?: unknown
  pid?: unknown
}

type Env = Readonly<Record<string, string | undefined>>

export const DEFAULT_DATA_DIR = './.writ'
// The same names as @writ/server's SERVER_FILE and ADMIN_TOKEN_FILE, repeated so client commands need not load the server.
const SERVER_FILE = 'server.json'
const ADMIN_TOKEN_FILE = 'admin-token'

export function dataDirOf(options: GlobalOptions, env: Env): string {
  return options.dataDir ?? nonEmpty(env.WRIT_DATA_DIR) ?? DEFAULT_DATA_DIR
}

export function locateServer(options: GlobalOptions, env: Env): ServerLocation {
  const explicitDataDir = options.dataDir ?? nonEmpty(env.WRIT_DATA_DIR)
  const dataDir = explicitDataDir ?? DEFAULT_DATA_DIR
  // Naming a data directory means the server that runs from it: the profile is then not consulted.
  const found = explicitDataDir === undefined ? readProfile(env) : undefined
  const profile = found?.profile
  const profileSource = found && `the profile in \`${displayPath(found.file, env)}\``
  const file = readServerFile(dataDir)
  const fileSource = `\`${join(dataDir, SERVER_FILE)}\``

  const publicUrl = first([
    [options.url, '--url'], [nonEmpty(env.WRIT_URL), 'WRIT_URL'], [profile?.public_url, profileSource], [stringOrUndefined(file?.public_url), fileSource],
  ])
  const adminCandidates: Array<[string | undefined, string | undefined, ServerLocation['adminSource']]> = [
    [options.adminUrl, '--admin-url', 'flag'], [nonEmpty(env.WRIT_ADMIN_URL), 'WRIT_ADMIN_URL', 'env'],
    [profile?.admin_url, profileSource, 'profile'], [stringOrUndefined(file?.admin_url), fileSource, 'server.json'],
  ]
  const admin = adminCandidates.find(([value]) => value !== undefined)
  const [adminUrl, adminUrlSource, adminSource] = admin ?? [undefined, undefined, undefined]

  let adminToken = first([[options.adminToken, '--admin-token'], [nonEmpty(env.WRIT_ADMIN_TOKEN), 'WRIT_ADMIN_TOKEN']])
  // A stored credential goes only to the server it belongs to: the profile's to the profile's address, and the data
  // directory's file to that directory's server (or a loopback address), never to a remote address someone put in a
  // flag or variable, where it would hand an admin credential to another machine.
  if (adminToken.value === undefined && profile !== undefined && adminUrl !== undefined && sameOrigin(adminUrl, profile.admin_url)) {
    adminToken = { value: profile.admin_token, source: profileSource }
  }
  if (adminToken.value === undefined && adminUrl !== undefined && (adminSource === 'server.json' || isLoopback(adminUrl))) {
    adminToken = { value: readAdminToken(dataDir), source: `\`${join(dataDir, ADMIN_TOKEN_FILE)}\`` }
  }
  return {
    dataDir, publicUrl: publicUrl.value, adminUrl, adminToken: adminToken.value, adminSource,
    sources: {
      ...(publicUrl.source === undefined ? {} : { publicUrl: publicUrl.source }),
      ...(adminUrlSource === undefined ? {} : { adminUrl: adminUrlSource }),
      ...(adminToken.value === undefined || adminToken.source === undefined ? {} : { adminToken: adminToken.source }),
    },
  }
}

/** The admin client, or an error that says how to point the CLI at a server. */
export function adminClientFor(location: ServerLocation): AdminClient {
  if (location.adminUrl === undefined) {
    throw new WritError('SERVER_UNAVAILABLE', `no running server found in \`${location.dataDir}\`; run \`writ login --server <admin url>\`, start one with \`npm start\`, or set WRIT_ADMIN_URL`)
  }
  if (location.adminToken === undefined) {
    throw new WritError('ADMIN_UNAUTHENTICATED', `no admin credential for \`${location.adminUrl}\`: pass --admin-token, set WRIT_ADMIN_TOKEN, run \`writ login\`, or run where \`${join(location.dataDir, ADMIN_TOKEN_FILE)}\` exists`)
  }
  return new AdminClient(location.adminUrl, location.adminToken, fetch, {
    url: location.sources.adminUrl ?? 'the admin address', credential: location.sources.adminToken ?? 'the admin credential',
  })
}

export function publicUrlOf(location: ServerLocation): string {
  if (location.publicUrl === undefined) {
    throw new WritError('SERVER_UNAVAILABLE', `no running server found in \`${location.dataDir}\`; run \`writ login --server <admin url>\`, start one with \`npm start\`, or set WRIT_URL`)
  }
  return location.publicUrl.replace(/\/+$/, '')
}

/** Reads the issuer from the RFC 8414 metadata of the public API (the SDK then checks it again). */
export async function discoverIssuer(publicUrl: string, source?: string): Promise<string> {
  let response: Response
  try {
    response = await fetch(`${publicUrl}/.well-known/oauth-authorization-server`, {
      headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(10_000),
    })
  } catch (cause) {
    const named = source === undefined ? '' : ` named by ${source}`
    throw new WritError('SERVER_UNAVAILABLE', `the public API${named} (\`${publicUrl}\`) is unreachable`, { reasons: ['network_error'], cause })
  }
  const body: unknown = await response.json().catch(() => undefined)
  if (!response.ok) throw WritError.fromResponse(response.status, body)
  const issuer = (body as { issuer?: unknown } | undefined)?.issuer
  if (typeof issuer !== 'string' || !/^https?:\/\//.test(issuer)) {
    throw new WritError('INTERNAL', `the metadata at \`${publicUrl}\` names no valid issuer`, { reasons: ['metadata_invalid'] })
  }
  return issuer
}

/** server.json, unless it is missing, unreadable, or left behind by a process that no longer runs. */
function readServerFile(dataDir: string): ServerFile | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(join(dataDir, SERVER_FILE), 'utf8'))
  } catch {
    return undefined
  }
  if (parsed === null || typeof parsed !== 'object') return undefined
  const file = parsed as ServerFile
  if (typeof file.pid === 'number' && !isRunning(file.pid)) return undefined
  return file
}

function readAdminToken(dataDir: string): string | undefined {
  try {
    return nonEmpty(readFileSync(join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim())
  } catch {
    return undefined
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user; it is still running.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname
    return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  } catch {
    return false
  }
}

function first(candidates: ReadonlyArray<readonly [string | undefined, string | undefined]>): { value: string | undefined; source: string | undefined } {
  const found = candidates.find(([value]) => value !== undefined)
  return { value: found?.[0], source: found?.[1] }
}

/** Same scheme, host and port: a profile's credential is never sent to another server. */
function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin
  } catch {
    return false
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined
}
