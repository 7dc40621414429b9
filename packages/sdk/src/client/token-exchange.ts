/** RFC 8693 token-exchange requests of the agent client: grant → capability, grant → sub-grant, human token → grant. */
import { WritError } from '../errors/writ-error.js'
import { GRANT_TYPES, TOKEN_TYPE_IDS, WRIT_ACTION_TYPE, type WritAction } from '../wire/profile.js'

/** A capability asked for under a delegation grant: the action must be one the grant covers. */
export interface GrantExchangeRequest {
  /** The delegation grant (`writ-grant+jwt`) whose `may_act` is this agent. */
  grant: string
  action: string
  resource: string
  parameters?: Record<string, unknown>
  access?: 'read' | 'write' | 'delete'
  /** Optional: the grant names the task; when given it must be the same. */
  taskId?: string
  stepId?: string
  taskPurpose?: string
  audience?: string
}

/** A narrower grant for a sub-agent (RFC 8693 `audience` names it). */
export interface DelegateGrantRequest {
  grant: string
  /** The sub-agent's id or registered name. */
  to: string
  /** What the sub-agent gets; each entry must be covered by the grant's. Default: everything the grant holds. */
  authorizationDetails?: WritAction[]
  /** Seconds from now; never past the grant's own expiry. Default: the grant's expiry. */
  expiresIn?: number
}

/** A human's ID token or JWT access token exchanged for a grant to this agent. */
export interface HumanTokenExchangeRequest {
  subjectToken: string
  /** `id_token` (default) or `jwt` (a JWT access token). */
  subjectTokenType?: 'id_token' | 'jwt'
  authorizationDetails: WritAction[]
  taskId: string
  taskPurpose?: string
  expiresIn?: number
}

/** A delegation grant as the token endpoint returned it. Pass `grant` on as a `subject_token`; it is no access token. */
export interface DelegationGrant {
  grant: string
  expiresIn: number
  authorizationDetails: WritAction[]
}

export function grantExchangeFields(request: GrantExchangeRequest): Record<string, string> {
  const detail: WritAction = { type: WRIT_ACTION_TYPE, action: request.action, resource: request.resource }
  if (request.parameters !== undefined) detail.parameters = request.parameters
  if (request.access !== undefined) detail.actions = [request.access]
  const fields: Record<string, string> = {
    ...exchangeOf(request.grant, TOKEN_TYPE_IDS.grant, TOKEN_TYPE_IDS.accessToken),
    authorization_details: JSON.stringify([detail]),
  }
  if (request.taskId !== undefined) fields.task_id = request.taskId
  if (request.stepId !== undefined) fields.step_id = request.stepId
  if (request.taskPurpose !== undefined) fields.task_purpose = request.taskPurpose
  if (request.audience !== undefined) fields.resource = request.audience
  return fields
}

export function delegateFields(request: DelegateGrantRequest): Record<string, string> {
  if (typeof request.to !== 'string' || request.to.length === 0) throw new TypeError('to must name the sub-agent')
  const fields: Record<string, string> = { ...exchangeOf(request.grant, TOKEN_TYPE_IDS.grant, TOKEN_TYPE_IDS.grant), audience: request.to }
  if (request.authorizationDetails !== undefined) fields.authorization_details = JSON.stringify(request.authorizationDetails)
  if (request.expiresIn !== undefined) fields.expires_in = String(request.expiresIn)
  return fields
}

export function humanExchangeFields(request: HumanTokenExchangeRequest): Record<string, string> {
  const type = request.subjectTokenType === 'jwt' ? TOKEN_TYPE_IDS.jwt : TOKEN_TYPE_IDS.idToken
  const fields: Record<string, string> = {
    ...exchangeOf(request.subjectToken, type, TOKEN_TYPE_IDS.grant),
    authorization_details: JSON.stringify(request.authorizationDetails),
    task_id: request.taskId,
  }
  if (request.taskPurpose !== undefined) fields.task_purpose = request.taskPurpose
  if (request.expiresIn !== undefined) fields.expires_in = String(request.expiresIn)
  return fields
}

export function toDelegationGrant(body: unknown): DelegationGrant {
  const record = body as Record<string, unknown> | undefined
  if (
    record === undefined || record === null || typeof record !== 'object' || record.issued_token_type !== TOKEN_TYPE_IDS.grant ||
    typeof record.access_token !== 'string' || typeof record.expires_in !== 'number' || !Array.isArray(record.authorization_details)
  ) {
    throw new WritError('INTERNAL', 'the token exchange response is not a delegation grant', { reasons: ['token_response_invalid'] })
  }
  return { grant: record.access_token, expiresIn: record.expires_in, authorizationDetails: record.authorization_details as WritAction[] }
}

function exchangeOf(subjectToken: string, subjectType: string, requested: string): Record<string, string> {
  if (typeof subjectToken !== 'string' || subjectToken.length === 0) throw new TypeError('the subject token must be a non-empty string')
  return { grant_type: GRANT_TYPES.tokenExchange, subject_token: subjectToken, subject_token_type: subjectType, requested_token_type: requested }
}
