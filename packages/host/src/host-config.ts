/** The host's configuration file (`/etc/writ/host.json`), written by `writ host enroll` and read by `writ host agent`. */
import { readFileSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { WritError } from '@writ/sdk'

export const DEFAULT_CONFIG_PATH = '/etc/writ/host.json'
export const DEFAULT_SOCKET_PATH = '/run/writ/host-agent.sock'
export const DEFAULT_STATE_DIR = '/var/lib/writ/host'
export const DEFAULT_AGENT_GROUP = 'writ-agents'
/** A host name as the server accepts it (docs/hosts.md). */
export const HOST_NAME_PATTERN = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/

export interface HostConfig {
  /** Writ's issuer identifier (also where the JWKS, the revocation stream and the host endpoints are). */
  issuer: string
  /** The host's client id. */
  host_id: string
  name: string
  /** `urn:writ:host:<name>`: the only audience the daemon accepts. */
  audience: string
  /** The host's private JWK (Ed25519), 0600 root. */
  key_path: string
  socket_path: string
  state_dir: string
  /** Where sshd's `RevokedKeys` points; the daemon replaces it atomically. Absent: no KRL installer. */
  krl_path?: string
  /** Seconds between KRL fetches when no revocation event arrives. */
  krl_interval_seconds?: number
  agent_group: string
  /** Host certificate renewal: the SSH host public key and where its certificate lives. */
  ssh_host_public_key_path?: string
  ssh_host_certificate_path?: string
}

export function loadHostConfig(path: string = DEFAULT_CONFIG_PATH): HostConfig {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new WritError('CONFIG_INVALID', `cannot read the host configuration ${path}`, { reasons: ['host_config_unreadable'], cause })
  }
  return checkHostConfig(parsed, path)
}

export function checkHostConfig(value: unknown, where = 'host configuration'): HostConfig {
  const fail = (what: string): never => {
    throw new WritError('CONFIG_INVALID', `${where}: ${what}`, { reasons: ['host_config_invalid'] })
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail('not a JSON object')
  const c = value as Record<string, unknown>
  const text = (key: string): string => {
    const v = c[key]
    if (typeof v !== 'string' || v.length === 0) return fail(`${key} must be a non-empty string`)
    return v
  }
  const path = (key: string): string => {
    const v = text(key)
    if (!isAbsolute(v)) fail(`${key} must be an absolute path`)
    return v
  }
  const optionalPath = (key: string): string | undefined => (c[key] === undefined ? undefined : path(key))
  const issuer = text('issuer')
  try {
    new URL(issuer)
  } catch {
    fail('issuer must be a URL')
  }
  const name = text('name')
  if (!HOST_NAME_PATTERN.test(name)) fail('name is not a valid host name')
  const audience = text('audience')
  // The audience is derived, never free: a config naming another host's audience would accept its tokens.
  if (audience !== `urn:writ:host:${name}`) fail('audience must be urn:writ:host:<name>')
  const interval = c.krl_interval_seconds
  if (interval !== undefined && (!Number.isInteger(interval) || (interval as number) < 1 || (interval as number) > 3600)) {
    fail('krl_interval_seconds must be an integer from 1 to 3600')
  }
  const group = c.agent_group === undefined ? DEFAULT_AGENT_GROUP : text('agent_group')
  const config: HostConfig = {
    issuer, host_id: text('host_id'), name, audience, key_path: path('key_path'),
    socket_path: c.socket_path === undefined ? DEFAULT_SOCKET_PATH : path('socket_path'),
    state_dir: c.state_dir === undefined ? DEFAULT_STATE_DIR : path('state_dir'),
    agent_group: group,
  }
  const krl = optionalPath('krl_path')
  if (krl !== undefined) config.krl_path = krl
  if (interval !== undefined) config.krl_interval_seconds = interval as number
  const hostKey = optionalPath('ssh_host_public_key_path')
  if (hostKey !== undefined) config.ssh_host_public_key_path = hostKey
  const hostCert = optionalPath('ssh_host_certificate_path')
  if (hostCert !== undefined) config.ssh_host_certificate_path = hostCert
  return config
}
