/** Finds the server and the admin credential: flags, then WRIT_* environment, then `<data-dir>/server.json` and `admin-token`. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { WritError } from '@writ/sdk'
import { AdminClient } from './admin-client.js'

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
  adminSource: 'flag' | 'env' | 'server.json' | undefined
}

interface ServerFile {
  public_url?: unknown
  admin_url?: unknown
  pid?: unknown
}

export const DEFAULT_DATA_DIR = './.writ'
// The same names as @writ/server's SERVER_FILE and ADMIN_TOKEN_FILE, repeated so client commands need not load the server.
const SERVER_FILE = 'server.json'
const ADMIN_TOKEN_FILE = 'admin-token'

export function dataDirOf(options: GlobalOptions, env: Readonly<Record<string, string | undefined>>): string {
  return options.dataDir ?? nonEmpty(env.WRIT_DATA_DIR) ?? DEFAULT_DATA_DIR
}

export function locateServer(options: GlobalOptions, env: Readonly<Record<string, string | undefined>>): ServerLocation {
  const dataDir = dataDirOf(options, env)
  const file = readServerFile(dataDir)
  const publicUrl = options.url ?? nonEmpty(env.WRIT_URL) ?? stringOrUndefined(file?.public_url)
  const adminFromFile = stringOrUndefined(file?.admin_url)
  const adminUrl = options.adminUrl ?? nonEmpty(env.WRIT_ADMIN_URL) ?? adminFromFile
  const adminSource = options.adminUrl !== undefined ? 'flag' : nonEmpty(env.WRIT_ADMIN_URL) !== undefined ? 'env' : adminFromFile ? 'server.json' : undefined
  let adminToken = options.adminToken ?? nonEmpty(env.WRIT_ADMIN_TOKEN)
  // The credential file belongs to the server in this data directory; it is never sent to a remote address someone
  // put in a flag or variable, where it would hand a local admin credential to another machine.
  if (adminToken === undefined && adminUrl !== undefined && (adminSource === 'server.json' || isLoopback(adminUrl))) {
    adminToken = readAdminToken(dataDir)
  }
  return { dataDir, publicUrl, adminUrl, adminToken, adminSource }
}

/** The admin client, or an error that says how to point the CLI at a server. */
export function adminClientFor(location: ServerLocation): AdminClient {
  if (location.adminUrl === undefined) {
    throw new WritError('SERVER_UNAVAILABLE', `no running server found in \`${location.dataDir}\`; start one with \`npm start\` or set WRIT_ADMIN_URL`)
  }
  if (location.adminToken === undefined) {
    throw new WritError('ADMIN_UNAUTHENTICATED', `no admin credential: pass --admin-token, set WRIT_ADMIN_TOKEN, or run where \`${join(location.dataDir, ADMIN_TOKEN_FILE)}\` exists`)
  }
  return new AdminClient(location.adminUrl, location.adminToken)
}

export function publicUrlOf(location: ServerLocation): string {
  if (location.publicUrl === undefined) {
    throw new WritError('SERVER_UNAVAILABLE', `no running server found in \`${location.dataDir}\`; start one with \`npm start\` or set WRIT_URL`)
  }
  return location.publicUrl.replace(/\/+$/, '')
}

/** Reads the issuer from the RFC 8414 metadata of the public API (the SDK then checks it again). */
export async function discoverIssuer(publicUrl: string): Promise<string> {
  let response: Response
  try {
    response = await fetch(`${publicUrl}/.well-known/oauth-authorization-server`, {
      headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(10_000),
    })
  } catch (cause) {
    throw new WritError('SERVER_UNAVAILABLE', `cannot reach writ at \`${publicUrl}\``, { reasons: ['network_error'], cause })
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

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname
    return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
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
