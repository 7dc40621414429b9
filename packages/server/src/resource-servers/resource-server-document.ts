/** The document an admin registers for a resource server, and the registry record built from it. */
import { z } from 'zod'
import { publicJwk } from '../agents/agent-document.js'

export const RESOURCE_SERVER_STATUSES = ['active', 'removed'] as const
export type ResourceServerStatus = (typeof RESOURCE_SERVER_STATUSES)[number]

// RFC 8707 §2: an absolute URI without a fragment; a URN is one too. Compared byte for byte, never normalised, so the
// registered string is exactly what tokens carry in `aud` and what verifiers configure.
const audience = z.string().min(1).max(512)
  .regex(/^[A-Za-z][A-Za-z0-9+.-]*:[^\s#\u0000-\u001f\u007f]+$/, 'an absolute URI or URN without spaces or a fragment')

export const resourceServerDocumentSchema = z.strictObject({
  name: z.string().min(1).max(63).regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits and . _ - only'),
  audience,
  description: z.string().max(2_000).default(''),
  owner: z.email().optional(),
  // More than one key only while rotating: the resource server signs its client assertions with any of them.
  jwks: z.strictObject({ keys: z.array(publicJwk).min(1).max(4) }),
})

export type ResourceServerDocument = z.infer<typeof resourceServerDocumentSchema>

/** The registry's view of a resource server: the document plus what the registry manages. */
export interface ResourceServer {
  id: string
  name: string
  audience: string
  status: ResourceServerStatus
  /** Registry version, incremented by every change. */
  version: number
  document: ResourceServerDocument
  created_at: string
  updated_at: string
}

export interface ResourceServerChange {
  kind: 'register' | 'update' | 'remove'
  fields: string[]
}

export interface ResourceServerVersion {
  resource_server_id: string
  version: number
  status: ResourceServerStatus
  document: ResourceServerDocument
  changed_by: string
  changed_at: string
  change: ResourceServerChange
}
