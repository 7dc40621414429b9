/**
 * The RFC 8693 token-exchange grant at `POST /oauth/token`: which exchange the request asks for, by its
 * `subject_token_type` and `requested_token_type`, and the parsing of its fields. The acting agent is always the
 * authenticated client (its usual `private_key_jwt` assertion); `actor_token` is not accepted.
 */
import { z } from 'zod'
import { TOKEN_TYPE_IDS, WritError, type GrantClaims, type WritAction } from '@writ/sdk'
import { parseAuthorizationDetails, taskSchema, writActionSchema } from '../tokens/capability.js'
import type { ClientAuthenticationInput } from '../tokens/client-authentication.js'
import type { IssuedCapability } from '../tokens/issue-token.js'
import { delegateGrant, type DelegateDeps, type GrantDelegation } from './delegate-grant.js'
import { exchangeGrant, type CapabilityExchange } from './exchange-grant.js'
import { exchangeHumanToken, type HumanExchangeDeps, type HumanTokenExchange } from './exchange-human-token.js'
import { MAX_GRANT_DETAILS } from './mandates.js'
import type { Audiences } from '../resource-servers/audiences.js'

export type TokenExchangeDeps = DelegateDeps & Pick<HumanExchangeDeps, 'humanTokens' | 'settings'> & {
  /** Audiences a capability request may name with `resource` (registered resource servers, then the configured list). */
  audiences: Audiences
}

export type ExchangeResult =
  | { kind: 'capability'; issued: IssuedCapability }
  | { kind: 'grant'; token: string; claims: GrantClaims }

export async function tokenExchange(
  client: ClientAuthenticationInput, form: Map<string, string>, sourceIp: string | undefined, deps: TokenExchangeDeps,
): Promise<ExchangeResult> {
  const subjectType = form.get('subject_token_type')
  const requested = form.get('requested_token_type')
  if (form.has('actor_token') || form.has('actor_token_type')) {
    throw new WritError('REQUEST_INVALID', 'actor_token is not accepted: the authenticated client is the actor')
  }
  if (subjectType === TOKEN_TYPE_IDS.grant && (requested === undefined || requested === TOKEN_TYPE_IDS.accessToken)) {
    return { kind: 'capability', issued: await exchangeGrant(client, () => parseCapabilityExchange(form, deps.audiences), sourceIp, deps) }
  }
  if ((subjectType === TOKEN_TYPE_IDS.idToken || subjectType === TOKEN_TYPE_IDS.jwt) && requested === TOKEN_TYPE_IDS.grant) {
    const kind = subjectType === TOKEN_TYPE_IDS.idToken ? 'id_token' : 'jwt'
    return { kind: 'grant', ...await exchangeHumanToken(client, () => parseHumanTokenExchange(form, kind), sourceIp, deps) }
  }
  if (subjectType === TOKEN_TYPE_IDS.grant && requested === TOKEN_TYPE_IDS.grant) {
    return { kind: 'grant', ...await delegateGrant(client, () => parseGrantDelegation(form), sourceIp, deps) }
  }
  throw unsupported(subjectType, requested)
}

function unsupported(subjectType: string | undefined, requested: string | undefined): WritError {
  if (subjectType === undefined) return new WritError('REQUEST_INVALID', 'subject_token_type is required')
  return new WritError('TOKEN_TYPE_UNSUPPORTED', `exchanging \`${subjectType.slice(0, 80)}\` for \`${(requested ?? '(default)').slice(0, 80)}\` is not supported`, {
    reasons: ['token_type_unsupported'],
  })
}

export function parseCapabilityExchange(form: Map<string, string>, audiences: Audiences): CapabilityExchange {
  const subject = subjectToken(form)
  const action = parseAuthorizationDetails(form.get('authorization_details'))
  return {
    subjectToken: subject,
    action,
    task: parseTask(form, false),
    audience: audiences.forRequest(action, form.get('resource')),
  }
}

export function parseHumanTokenExchange(form: Map<string, string>, kind: HumanTokenExchange['kind']): HumanTokenExchange {
  const raw = form.get('authorization_details')
  if (raw === undefined) throw new WritError('AUTHORIZATION_DETAILS_INVALID', 'authorization_details (what the human delegates) is required')
  return {
    subjectToken: subjectToken(form),
    kind,
    details: parseGrantDetails(raw),
    task: parseTask(form, true) as HumanTokenExchange['task'],
    expiresIn: parseExpiresIn(form),
  }
}

function parseExpiresIn(form: Map<string, string>): number | undefined {
  const expiresIn = form.get('expires_in')
  if (expiresIn !== undefined && !/^[1-9]\d{0,6}$/.test(expiresIn)) throw new WritError('REQUEST_INVALID', 'expires_in is a number of seconds')
  return expiresIn === undefined ? undefined : Number(expiresIn)
}

export function parseGrantDelegation(form: Map<string, string>): GrantDelegation {
  const audience = form.get('audience')
  if (!audience || audience.length > 128) throw new WritError('REQUEST_INVALID', 'audience (the agent to delegate to, by id or name) is required')
  const raw = form.get('authorization_details')
  return {
    subjectToken: subjectToken(form),
    audience,
    details: raw === undefined ? undefined : parseGrantDetails(raw),
    taskId: parseTask(form, false).id,
    expiresIn: parseExpiresIn(form),
  }
}

// Built once: zod compiles a schema's fast path when it is first used, so a schema made per request costs a compile each.
const partialTaskSchema = taskSchema.partial()

const grantDetailsSchema = z.array(writActionSchema).min(1).max(MAX_GRANT_DETAILS)

/** A grant's `authorization_details`: one to MAX_GRANT_DETAILS `writ_action` objects, resources may be globs. */
export function parseGrantDetails(raw: string): WritAction[] {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    throw new WritError('AUTHORIZATION_DETAILS_INVALID', 'authorization_details is not valid JSON')
  }
  const parsed = grantDetailsSchema.safeParse(value)
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${['authorization_details', ...i.path].join('.')}: ${i.message}`)
    throw new WritError('AUTHORIZATION_DETAILS_INVALID', `authorization_details is invalid: ${reasons.join('; ')}`, { reasons })
  }
  if (JSON.stringify(parsed.data).length > 4_096) throw new WritError('AUTHORIZATION_DETAILS_INVALID', 'authorization_details exceed 4096 bytes')
  return parsed.data as WritAction[]
}

export function subjectToken(form: Map<string, string>): string {
  const token = form.get('subject_token')
  if (!token) throw new WritError('REQUEST_INVALID', 'subject_token is required')
  return token
}

/** task_id, step_id and task_purpose, as for client_credentials; task_id is required only when `required`. */
export function parseTask(form: Map<string, string>, required: boolean): { id?: string; step?: string; purpose?: string } {
  const fields: Record<string, string> = {}
  for (const [field, key] of [['task_id', 'id'], ['step_id', 'step'], ['task_purpose', 'purpose']] as const) {
    const value = form.get(field)
    if (value !== undefined) fields[key] = value
  }
  const schema = required ? taskSchema : partialTaskSchema
  const task = schema.safeParse(fields)
  if (!task.success) {
    const reasons = task.error.issues.map((i) => `${fieldName(i.path[0])}: ${i.message}`)
    throw new WritError('REQUEST_INVALID', `the task is invalid: ${reasons.join('; ')}`, { reasons })
  }
  return task.data
}

function fieldName(key: PropertyKey | undefined): string {
  return key === 'id' ? 'task_id' : key === 'step' ? 'step_id' : key === 'purpose' ? 'task_purpose' : String(key)
}
