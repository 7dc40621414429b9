/** A Linux host as Writ knows it: names, labels, its audience, and the rules every host record obeys. */
import { z } from 'zod'
import type { PublicJwk } from '../agents/agent-document.js'

export const HOST_STATUSES = ['active', 'removed'] as const
export type HostStatus = (typeof HOST_STATUSES)[number]

/** A capability on `host:<name>` is issued for `urn:writ:host:<name>`, and for nothing else. */
export const HOST_RESOURCE_PREFIX = 'host:'
export const HOST_AUDIENCE_PREFIX = 'urn:writ:host:'
/** The resource server registered for a host is named `host.<name>` (a name the resource-server registry refuses to others). */
export const HOST_RESOURCE_SERVER_PREFIX = 'host.'

// A DNS label-like name: it becomes part of certificate principals (`deploy@web-1`) and of the audience.
export const HOST_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/
export const LABEL_KEY = /^[a-z0-9][a-z0-9_.-]{0,62}$/
export const LABEL_VALUE = /^[A-Za-z0-9_.-]{0,63}$/
export const MAX_LABELS = 64

export const hostNameSchema = z.string().regex(HOST_NAME, 'lowercase letters, digits, . and -, 1-63 characters, starting and ending with a letter or digit')

export const labelsSchema = z.record(
  z.string().regex(LABEL_KEY, 'label keys: lowercase letters, digits and _ . -, 1-63 characters'),
  z.string().regex(LABEL_VALUE, 'label values: letters, digits and _ . -, at most 63 characters'),
).refine((labels) => Object.keys(labels).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`)

export type Labels = Record<string, string>

export interface Host {
  /** The host's client id (`client_id` of its private_key_jwt assertions), a UUID. */
  id: string
  name: string
  labels: Labels
  /** OpenSSH one-line public key, as enrolled (`ssh-ed25519 AAAA...`), without comment. */
  ssh_host_public_key: string
  /** The Ed25519 public JWK the host signs its client assertions with. */
  client_jwk: PublicJwk
  status: HostStatus
  version: number
  /** The join token it enrolled with (its id, never the secret). */
  join_token_id: string
  created_at: string
  updated_at: string
}

export interface HostChange {
  kind: 'enroll' | 'update' | 'remove'
  fields: string[]
  reason?: string
}

export interface HostVersion {
  host_id: string
  version: number
  status: HostStatus
  labels: Labels
  changed_by: string
  changed_at: string
  change: HostChange
}

export interface JoinToken {
  id: string
  secret_hash: string
  labels: Labels
  name: string | null
  expires_at: number
  spent_at: number | null
  host_id: string | null
  created_by: string
  created_at: number
}

export function hostAudience(name: string): string {
  return `${HOST_AUDIENCE_PREFIX}${name}`
}

/** The host name of a `host:<name>` resource, or undefined for any other resource (or a malformed name). */
export function hostNameOfResource(resource: string): string | undefined {
  if (!resource.startsWith(HOST_RESOURCE_PREFIX)) return undefined
  const name = resource.slice(HOST_RESOURCE_PREFIX.length)
  return HOST_NAME.test(name) ? name : undefined
}

/** Labels as Cedar sees them: a set of `key=value` strings, sorted so the entity is stable. */
export function labelStrings(labels: Labels): string[] {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`).sort()
}
