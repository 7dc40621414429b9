/** The identity document users write (YAML or JSON) and the registry record built from it. */
import { z } from 'zod'

export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const
export const AGENT_STATUSES = ['active', 'suspended', 'retired'] as const
export type AgentStatus = (typeof AGENT_STATUSES)[number]

const identifier = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._:*-]*$/, 'letters, digits and . _ : * - only')

export const publicJwk = z.looseObject({
  kty: z.enum(['OKP', 'EC']),
  kid: z.string().min(1).max(128).optional(),
  crv: z.enum(['Ed25519', 'P-256']),
  x: z.string().min(1).max(128),
  y: z.string().max(128).optional(),
  alg: z.string().max(16).optional(),
  use: z.literal('sig').optional(),
})

// Claims that every verified token already satisfies or that change per token: listing them would match nothing useful.
const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'])

/** An external identity that authenticates as this agent: the provider's issuer, this `sub`, and every listed claim. */
const federatedIdentity = z.strictObject({
  provider: z.string().min(1).max(63).regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits and . _ - only'),
  subject: z.string().min(1).max(512),
  claims: z.record(z.string().min(1).max(128), z.json()).optional()
    .refine((claims) => !claims || Object.keys(claims).every((name) => !RESERVED_CLAIMS.has(name)), 'iss, sub, aud, exp, nbf, iat and jti are checked by Writ; list other claims'),
})

export const agentDocumentSchema = z.strictObject({
  name: z.string().min(1).max(63).regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits and . _ - only'),
  owner: z.email(),
  team: z.string().min(1).max(100),
  platform: z.string().min(1).max(64),
  description: z.string().max(2_000).default(''),
  capabilities: z.array(z.strictObject({
    id: identifier,
    description: z.string().max(500).default(''),
    risk_level: z.enum(RISK_LEVELS),
  })).max(256).default([]),
  data_access: z.array(z.strictObject({
    resource: z.string().min(1).max(256),
    access_type: z.enum(['read', 'write', 'delete']),
    sensitivity: z.enum(['public', 'internal', 'confidential', 'restricted']),
  })).max(256).default([]),
  tools: z.array(z.strictObject({
    tool_id: identifier,
    mcp_server: z.string().min(1).max(128).optional(),
    permissions: z.array(z.string().min(1).max(64)).max(32).default([]),
  })).max(256).default([]),
  human_oversight: z.strictObject({
    required_for: z.array(z.string().min(1).max(128)).max(256).default([]),
    approvers: z.array(z.string().min(1).max(256)).max(64).default([]),
  }).prefault({}),
  jwks: z.strictObject({ keys: z.array(publicJwk).max(16) }).prefault({ keys: [] }),
  require_dpop: z.boolean().default(false),
  federated_identities: z.array(federatedIdentity).max(32).default([]),
}).superRefine((doc, ctx) => {
  const seen = new Set<string>()
  doc.capabilities.forEach((capability, index) => {
    if (seen.has(capability.id)) ctx.addIssue({ code: 'custom', path: ['capabilities', index, 'id'], message: `duplicate capability \`${capability.id}\`` })
    seen.add(capability.id)
  })
})

export type AgentDocument = z.infer<typeof agentDocumentSchema>
export type PublicJwk = AgentDocument['jwks']['keys'][number]

/** The registry's view of an agent: the document plus what the registry manages. */
export interface Agent {
  id: string
  name: string
  status: AgentStatus
  /** Registry version, incremented by every change. */
  version: number
  document: AgentDocument
  created_at: string
  updated_at: string
}

export interface AgentVersion {
  agent_id: string
  version: number
  status: AgentStatus
  document: AgentDocument
  changed_by: string
  changed_at: string
  /** What changed from the previous version: top-level fields and status. */
  change: AgentChange
}

export interface AgentChange {
  kind: 'register' | 'update' | 'suspend' | 'resume' | 'retire'
  fields: string[]
}
