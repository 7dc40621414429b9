/** The agent's side of Writ: discover the token endpoint, authenticate with a client assertion, ask for one capability, wait for a human when held. */
import type { JsonWebKey, KeyObject } from 'node:crypto'
import { WritError } from '../errors/writ-error.js'
import {
  CLIENT_ASSERTION_TYPE,
  GRANT_TYPES,
  WRIT_ACTION_TYPE,
  type AuthorizationServerMetadata,
  type WritAction,
} from '../wire/profile.js'
import { signClientAssertion } from './client-assertion.js'
import { fetchMetadata, readJson, send } from './writ-http.js'
import { createDpopKey, dpopRequestHeaders, signDpopProof, type DpopKey } from './dpop-key.js'
import { checkWaitOptions, waitForApproval, type WaitForApprovalOptions } from './wait-for-approval.js'
import {
  delegateFields, grantExchangeFields, humanExchangeFields, toDelegationGrant,
  type DelegateGrantRequest, type DelegationGrant, type GrantExchangeRequest, type HumanTokenExchangeRequest,
} from './token-exchange.js'

export type { DelegateGrantRequest, DelegationGrant, GrantExchangeRequest, HumanTokenExchangeRequest } from './token-exchange.js'

export { pendingInfo, type ApprovalPendingInfo, type WaitForApprovalOptions } from './wait-for-approval.js'

export interface AgentClientOptions {
  /** Writ's issuer identifier; metadata is read from `${issuer}/.well-known/oauth-authorization-server`. */
  issuer: string
  /**
   * The agent's id or its registered name. Writ resolves a name to the id at the token endpoint; tokens always carry
   * the id in `sub` and `client_id`. Prefer the id in long-lived deployments: a name follows renames (docs/sdk.md).
   */
  agent?: string
  /** The agent's id; the older spelling of `agent`. Give exactly one of the two. */
  agentId?: string
  /** The agent's Ed25519 (OKP) or P-256 (EC) private JWK, optionally with `kid`. It never leaves the process. */
  privateKey?: JsonWebKey
  /**
   * Instead of `privateKey`: a token the agent's platform issues for it (a GitHub Actions OIDC token, a Kubernetes
   * service-account token), sent as its client assertion; Writ maps it through the document's `federated_identities`
   * (docs/federation.md). Called for every request, so it can return a fresh token each time. Give exactly one of the two.
   */
  externalToken?: () => string | Promise<string>
  fetch?: typeof fetch
  /** Current time in epoch seconds; for tests. */
  now?: () => number
  /** Waits between approval polls; for tests, which must not wait real seconds. */
  sleep?: (ms: number) => Promise<void>
  /**
   * Proof of possession (RFC 9449): `true` generates an Ed25519 key for this client; a private KeyObject or JWK, or a
   * DpopKey, uses that key. Every token request then carries a DPoP proof and every token is bound to the key.
   */
  dpop?: boolean | DpopKey | KeyObject | JsonWebKey
}

export interface CapabilityRequest {
  action: string
  resource: string
  parameters?: Record<string, unknown>
  /** The access the action needs on the resource (RFC 9396 `actions`); by default the server infers it from the verb. */
  access?: 'read' | 'write' | 'delete'
  taskId: string
  stepId?: string
  taskPurpose?: string
  /** The resource server the token is for (RFC 8707 `resource`). */
  audience?: string
}

export interface CapabilityGrant {
  accessToken: string
  /** `DPoP` for a token bound to the client's DPoP key, else `Bearer`. */
  tokenType: string
  expiresIn: number
  authorizationDetails: WritAction[]
}

export interface RequestCapabilityOptions {
  /** Without it a held request throws WritError APPROVAL_PENDING; with it the client polls until a human decides. */
  waitForApproval?: WaitForApprovalOptions
}

export interface AgentClient {
  requestCapability(request: CapabilityRequest, options?: RequestCapabilityOptions): Promise<CapabilityGrant>
  /**
   * One CIBA poll for a held request: the grant once approved, else the WritError the server answered
   * (APPROVAL_PENDING, APPROVAL_SLOW_DOWN, APPROVAL_DENIED, APPROVAL_EXPIRED, APPROVAL_NOT_FOUND, POLICY_DENIED).
   * Passing the original request binds the poll to it: the server refuses an approval granted for another one.
   */
  pollApproval(authReqId: string, request?: CapabilityRequest): Promise<CapabilityGrant>
  /**
   * The RFC 7523 jwt-bearer grant: `assertion` (by default the `externalToken`) is the grant itself, with no client
   * assertion; `client_id` names this agent. A held request throws APPROVAL_PENDING (poll it with a client that can
   * authenticate); a token that maps to no agent throws EXTERNAL_TOKEN_INVALID.
   */
  requestCapabilityWithAssertion(request: CapabilityRequest, options?: { assertion?: string }): Promise<CapabilityGrant>
  /**
   * The headers that present `grant` to a resource server: `Authorization: Bearer …`, or for a DPoP-bound token
   * `Authorization: DPoP …` with a fresh `DPoP` proof for this method and URL (the URL the resource server is reached at).
   */
  authorizationHeaders(grant: CapabilityGrant, request: { method: string; url: string }): Promise<Record<string, string>>
  /** The client's DPoP key, when it uses one (its `jkt` is the `cnf.jkt` of its tokens). */
  dpopKey(): Promise<DpopKey | undefined>
  /**
   * A delegation grant (whose `may_act` is this agent) exchanged for one capability token: `sub` is the human, `act`
   * the chain with this agent outermost. Held requests behave as for requestCapability.
   */
  exchangeGrant(request: GrantExchangeRequest, options?: RequestCapabilityOptions): Promise<CapabilityGrant>
  /** A narrower grant for a sub-agent, from a grant this agent holds (attenuation is enforced by the server). */
  delegateGrant(request: DelegateGrantRequest): Promise<DelegationGrant>
  /** A human's ID token or JWT access token exchanged for a grant that lets this agent act for them. */
  exchangeHumanToken(request: HumanTokenExchangeRequest): Promise<DelegationGrant>
}

export function createAgentClient(options: AgentClientOptions): AgentClient {
  if (typeof options.issuer !== 'string' || !/^https?:\/\//.test(options.issuer)) throw new TypeError('issuer must be an http(s) url')
  const agent = agentOf(options)
  const fetchImpl = options.fetch ?? fetch
  const sleep = options.sleep ?? realSleep
  const metadataUrl = `${options.issuer.replace(/\/$/, '')}/.well-known/oauth-authorization-server`
  let metadata: Promise<AuthorizationServerMetadata> | undefined
  const dpopKey = dpopKeyOf(options.dpop)

  function discover(): Promise<AuthorizationServerMetadata> {
    // A failed discovery is not cached, so the next request tries again.
    metadata ??= fetchMetadata(fetchImpl, metadataUrl, options.issuer).catch((error: unknown) => {
      metadata = undefined
      throw error
    })
    return metadata
  }

  /** The client assertion: a fresh private_key_jwt (Writ accepts each one exactly once), or the platform's token. */
  async function clientAssertion(): Promise<string> {
    if (options.externalToken !== undefined) return externalToken(options.externalToken)
    return signClientAssertion({
      privateKey: options.privateKey as JsonWebKey,
      agentId: agent,
      audience: options.issuer,
      ...(options.now !== undefined && { now: options.now }),
    })
  }

  /** Posts one token request, authenticated with a client assertion. */
  async function token(fields: Record<string, string>): Promise<CapabilityGrant> {
    return toGrant(await authenticatedPost(fields))
  }

  async function authenticatedPost(fields: Record<string, string>): Promise<unknown> {
    return postRaw({ ...fields, client_id: agent, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await clientAssertion() })
  }

  async function post(fields: Record<string, string>): Promise<CapabilityGrant> {
    return toGrant(await postRaw(fields))
  }

  /** Posts one token request, with a DPoP proof when the client binds its tokens; the answer's body. */
  async function postRaw(fields: Record<string, string>): Promise<unknown> {
    const { token_endpoint: tokenEndpoint } = await discover()
    const form = new URLSearchParams(fields)
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }
    const key = await dpopKey
    if (key !== undefined) {
      headers.dpop = await signDpopProof(key, { htm: 'POST', htu: tokenEndpoint, ...(options.now !== undefined && { now: options.now }) })
    }
    const response = await send(fetchImpl, tokenEndpoint, { method: 'POST', headers, body: form.toString() })
    const body = await readJson(response)
    if (response.status !== 200) throw WritError.fromResponse(response.status, body)
    return body
  }

  async function pollApproval(authReqId: string, request?: CapabilityRequest): Promise<CapabilityGrant> {
    if (typeof authReqId !== 'string' || authReqId.length === 0) throw new TypeError('authReqId must be a non-empty string')
    const fields: Record<string, string> = { grant_type: GRANT_TYPES.ciba, auth_req_id: authReqId }
    if (request !== undefined) fields.authorization_details = JSON.stringify([actionDetail(request)])
    return token(fields)
  }

  async function requestCapability(request: CapabilityRequest, requestOptions: RequestCapabilityOptions = {}): Promise<CapabilityGrant> {
    const wait = requestOptions.waitForApproval
    if (wait !== undefined) checkWaitOptions(wait)
    const fields: Record<string, string> = { grant_type: GRANT_TYPES.clientCredentials, ...requestFields(request) }
    return withWait(() => token(fields), wait, request)
  }

  function withWait(send: () => Promise<CapabilityGrant>, wait: WaitForApprovalOptions | undefined, request: CapabilityRequest): Promise<CapabilityGrant> {
    return send().catch((error: unknown) => {
      if (wait === undefined || !(error instanceof WritError) || error.code !== 'APPROVAL_PENDING') throw error
      return waitForApproval(error, wait, { poll: (authReqId) => pollApproval(authReqId, request), sleep })
    })
  }

  async function exchangeGrant(request: GrantExchangeRequest, requestOptions: RequestCapabilityOptions = {}): Promise<CapabilityGrant> {
    const wait = requestOptions.waitForApproval
    if (wait !== undefined) checkWaitOptions(wait)
    const fields = grantExchangeFields(request)
    // An approved hold is redeemed by the CIBA poll, bound to the same action; the server kept the chain with it.
    return withWait(() => token(fields), wait, { ...request, taskId: request.taskId ?? '' })
  }

  async function requestCapabilityWithAssertion(request: CapabilityRequest, grantOptions: { assertion?: string } = {}): Promise<CapabilityGrant> {
    const assertion = grantOptions.assertion ?? (options.externalToken !== undefined ? await externalToken(options.externalToken) : undefined)
    if (typeof assertion !== 'string' || assertion.length === 0) throw new TypeError('an assertion (or the externalToken option) is required')
    return post({ grant_type: GRANT_TYPES.jwtBearer, assertion, client_id: agent, ...requestFields(request) })
  }

  async function authorizationHeaders(grant: CapabilityGrant, request: { method: string; url: string }): Promise<Record<string, string>> {
    if (grant.tokenType.toLowerCase() !== 'dpop') return { authorization: `Bearer ${grant.accessToken}` }
    const key = await dpopKey
    if (key === undefined) throw new TypeError('a DPoP-bound grant needs the client\'s DPoP key')
    return dpopRequestHeaders(key, grant.accessToken, { ...request, ...(options.now !== undefined && { now: options.now }) })
  }

  return {
    requestCapability, pollApproval, requestCapabilityWithAssertion, authorizationHeaders, dpopKey: async () => dpopKey, exchangeGrant,
    delegateGrant: async (request) => toDelegationGrant(await authenticatedPost(delegateFields(request))),
    exchangeHumanToken: async (request) => toDelegationGrant(await authenticatedPost(humanExchangeFields(request))),
  }
}

function dpopKeyOf(option: AgentClientOptions['dpop']): Promise<DpopKey> | undefined {
  if (option === undefined || option === false) return undefined
  const key = option === true ? createDpopKey()
    : typeof option === 'object' && 'jkt' in option && 'privateKey' in option ? Promise.resolve(option as DpopKey)
      : createDpopKey(option as KeyObject | JsonWebKey)
  // A bad key surfaces (TypeError) at the first request that needs it, not as an unhandled rejection before.
  key.catch(() => undefined)
  return key
}

function agentOf(options: AgentClientOptions): string {
  if ((options.privateKey === undefined) === (options.externalToken === undefined)) throw new TypeError('give privateKey or externalToken, exactly one')
  if (options.agent !== undefined && options.agentId !== undefined) throw new TypeError('give agent or agentId, not both')
  const agent = options.agent ?? options.agentId
  if (typeof agent !== 'string' || agent.length === 0) throw new TypeError('agent must be a non-empty string (the agent id or name)')
  return agent
}

/** The form fields of a capability request, the same for every grant type that asks for one. */
function requestFields(request: CapabilityRequest): Record<string, string> {
  const fields: Record<string, string> = { authorization_details: JSON.stringify([actionDetail(request)]), task_id: request.taskId }
  if (request.stepId !== undefined) fields.step_id = request.stepId
  if (request.taskPurpose !== undefined) fields.task_purpose = request.taskPurpose
  if (request.audience !== undefined) fields.resource = request.audience
  return fields
}

/** The platform's token, checked to be a non-empty string before it is sent. */
async function externalToken(get: () => string | Promise<string>): Promise<string> {
  const token = await get()
  if (typeof token !== 'string' || token.length === 0) throw new TypeError('externalToken must return a non-empty string')
  return token
}

function actionDetail(request: CapabilityRequest): Record<string, unknown> {
  const detail: Record<string, unknown> = { type: WRIT_ACTION_TYPE, action: request.action, resource: request.resource }
  if (request.parameters !== undefined) detail.parameters = request.parameters
  if (request.access !== undefined) detail.actions = [request.access]
  return detail
}

function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function toGrant(body: unknown): CapabilityGrant {
  const record = body as Record<string, unknown> | undefined
  if (
    record === undefined || record === null || typeof record !== 'object' ||
    typeof record.access_token !== 'string' || typeof record.token_type !== 'string' ||
    typeof record.expires_in !== 'number' || !Array.isArray(record.authorization_details)
  ) {
    throw new WritError('INTERNAL', 'the token response is malformed', { reasons: ['token_response_invalid'] })
  }
  return {
    accessToken: record.access_token,
    tokenType: record.token_type,
    expiresIn: record.expires_in,
    authorizationDetails: record.authorization_details as WritAction[],
  }
}
