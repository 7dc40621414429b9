/** The capability request as parsed from the wire, and the claims of the token that answers it. */
import { z } from 'zod'
import { WRIT_ACTION_TYPE, WritError, type ActorClaim, type CapabilityClaims, type WritAction } from '@writ/sdk'
import type { Agent } from '../agents/agent-document.js'
import { timeOrderedId } from './token-id.js'
import { hostActionMaxLifetime } from '../hosts/host-actions.js'

const printable = (max: number) => z.string().min(1).max(max).regex(/^[\x20-\x7e]+$/, 'printable ASCII only')

export const writActionSchema = z.strictObject({
  type: z.literal(WRIT_ACTION_TYPE),
  action: printable(128).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits and . _ : - only'),
  resource: printable(256),
  parameters: z.record(z.string().max(128), z.unknown()).optional(),
  // RFC 9396 §2.2 common field: the kind of access to the resource. Writ takes exactly one of its three levels.
  actions: z.tuple([z.enum(['read', 'write', 'delete'])]).optional(),
})

/** RFC 9396: exactly one `writ_action` object; one token = one action on one resource. */
export const authorizationDetailsSchema = z.tuple([writActionSchema])

export const taskSchema = z.strictObject({
  id: printable(128),
  step: printable(128).optional(),
  purpose: z.string().min(1).max(512).optional(),
})

export interface CapabilityRequest {
  action: WritAction
  task: z.infer<typeof taskSchema>
  /** The resource server the token is for (`aud`). */
  audience: string
  /** Present when the agent acts on delegated authority (a grant exchanged for this capability). */
  delegation?: DelegationContext
}

/**
 * The delegated authority a capability request is made under, taken from a verified, stored grant whose `may_act` is
 * the acting agent. Stored with a held request, so an approved token carries the same chain.
 */
export interface DelegationContext {
  /** The grant's jti: the token's `parent`. */
  grant: string
  /** Every grant the chain depends on, root first and this one last: all must be unrevoked when the token commits. */
  grants: string[]
  /** Whose authority it is: the token's `sub`. */
  subject: string
  /** Present when `subject` is a human: Cedar then sees them as `Writ::Human` with these groups. */
  human?: { groups: string[] }
  /** The grant's `act` (the agents that delegated before); the token's `act` nests the acting agent around it. */
  act?: ActorClaim
  /** The agents of `act`: each must still be active when the token commits. */
  agents: string[]
  /** Hops between the subject and the acting agent (Cedar's `context.delegation_depth`). */
  depth: number
  /** The grant's `exp` (epoch seconds): a token never outlives the grant it came from. */
  notAfter: number
}

export function parseAuthorizationDetails(raw: string | undefined): WritAction {
  if (raw === undefined) throw new WritError('AUTHORIZATION_DETAILS_INVALID', 'authorization_details is required')
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    throw new WritError('AUTHORIZATION_DETAILS_INVALID', 'authorization_details is not valid JSON')
  }
  const parsed = authorizationDetailsSchema.safeParse(value)
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${['authorization_details', ...i.path].join('.')}: ${i.message}`)
    throw new WritError('AUTHORIZATION_DETAILS_INVALID', `authorization_details is invalid: ${reasons.join('; ')}`, { reasons })
  }
  const [action] = parsed.data
  // Parameters are copied into the token; a cap keeps the token under the verifiers' size limit.
  if (action.parameters && JSON.stringify(action.parameters).length > 2_048) {
    throw new WritError('AUTHORIZATION_DETAILS_INVALID', 'authorization_details parameters exceed 2048 bytes')
  }
  return action as WritAction
}

export function capabilityClaims(agent: Agent, request: CapabilityRequest, issuer: string, nowMs: number, ttlSeconds: number): CapabilityClaims {
  const nowSeconds = Math.floor(nowMs / 1000)
  const task: CapabilityClaims['task'] = { id: request.task.id }
  if (request.task.step !== undefined) task.step = request.task.step
  if (request.task.purpose !== undefined) task.purpose = request.task.purpose
  const claims: CapabilityClaims = {
    iss: issuer,
    sub: request.delegation?.subject ?? agent.id,
    client_id: agent.id,
    aud: request.audience,
    iat: nowSeconds,
    // A host action's own cap (sudo.exec 300 s, ssh.login 900 s) applies whatever tokens.ttlSeconds says.
    exp: Math.min(nowSeconds + Math.min(ttlSeconds, hostActionMaxLifetime(request.action.action) ?? ttlSeconds), request.delegation?.notAfter ?? Number.MAX_SAFE_INTEGER),
    jti: timeOrderedId(nowMs),
    authorization_details: [request.action],
    task,
  }
  if (request.delegation) {
    // RFC 8693 §4.1: the outermost actor is the current one, the acting agent; the grant's chain nests inside it.
    claims.act = request.delegation.act === undefined ? { sub: agent.id } : { sub: agent.id, act: request.delegation.act }
    claims.parent = request.delegation.grant
  }
  return claims
}
