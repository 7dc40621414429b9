/** The agent's side of Writ: discover the token endpoint, authenticate with a client assertion, ask for one capability. */
import type { JsonWebKey } from 'node:crypto'
import { WritError } from '../errors/writ-error.js'
import {
  CLIENT_ASSERTION_TYPE,
  GRANT_TYPES,
  WRIT_ACTION_TYPE,
  type AuthorizationServerMetadata,
  type WritAction,
} from '../wire/profile.js'
import { signClientAssertion } from './client-assertion.js'

export interface AgentClientOptions {
  /** Writ's issuer identifier; metadata is read from `${issuer}/.well-known/oauth-authorization-server`. */
  issuer: string
  agentId: string
  /** The agent's Ed25519 (OKP) or P-256 (EC) private JWK, optionally with `kid`. It never leaves the process. */
  privateKey: JsonWebKey
  fetch?: typeof fetch
  /** Current time in epoch seconds; for tests. */
  now?: () => number
}

export interface CapabilityRequest {
  action: string
  resource: string
  parameters?: Record<string, unknown>
  taskId: string
  stepId?: string
  taskPurpose?: string
  /** The resource server the token is for (RFC 8707 `resource`). */
  audience?: string
}

export interface CapabilityGrant {
  accessToken: string
  tokenType: string
  expiresIn: number
  authorizationDetails: WritAction[]
}

export interface AgentClient {
  requestCapability(request: CapabilityRequest): Promise<CapabilityGrant>
}

const REQUEST_TIMEOUT_MS = 10_000

export function createAgentClient(options: AgentClientOptions): AgentClient {
  if (typeof options.issuer !== 'string' || !/^https?:\/\//.test(options.issuer)) throw new TypeError('issuer must be an http(s) url')
  if (typeof options.agentId !== 'string' || options.agentId.length === 0) throw new TypeError('agentId must be a non-empty string')
  const fetchImpl = options.fetch ?? fetch
  const metadataUrl = `${options.issuer.replace(/\/$/, '')}/.well-known/oauth-authorization-server`
  let metadata: Promise<AuthorizationServerMetadata> | undefined

  function discover(): Promise<AuthorizationServerMetadata> {
    // A failed discovery is not cached, so the next request tries again.
    metadata ??= fetchMetadata(fetchImpl, metadataUrl, options.issuer).catch((error: unknown) => {
      metadata = undefined
      throw error
    })
    return metadata
  }

  async function requestCapability(request: CapabilityRequest): Promise<CapabilityGrant> {
    const { token_endpoint: tokenEndpoint } = await discover()
    const assertion = await signClientAssertion({
      privateKey: options.privateKey,
      agentId: options.agentId,
      audience: options.issuer,
      ...(options.now !== undefined && { now: options.now }),
    })
    const detail: Record<string, unknown> = { type: WRIT_ACTION_TYPE, action: request.action, resource: request.resource }
    if (request.parameters !== undefined) detail.parameters = request.parameters
    const form = new URLSearchParams({
      grant_type: GRANT_TYPES.clientCredentials,
      client_id: options.agentId,
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion,
      authorization_details: JSON.stringify([detail]),
      task_id: request.taskId,
    })
    if (request.stepId !== undefined) form.set('step_id', request.stepId)
    if (request.taskPurpose !== undefined) form.set('task_purpose', request.taskPurpose)
    if (request.audience !== undefined) form.set('resource', request.audience)

    const response = await send(fetchImpl, tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    })
    const body = await readJson(response)
    if (response.status !== 200) throw WritError.fromResponse(response.status, body)
    return toGrant(body)
  }

  return { requestCapability }
}

async function fetchMetadata(fetchImpl: typeof fetch, url: string, issuer: string): Promise<AuthorizationServerMetadata> {
  const response = await send(fetchImpl, url, { method: 'GET', headers: { accept: 'application/json' } })
  const body = await readJson(response)
  if (response.status !== 200) throw WritError.fromResponse(response.status, body)
  const record = body as Partial<AuthorizationServerMetadata> | undefined
  // RFC 8414 §3.3: metadata naming another issuer is a mix-up attempt; never send an assertion to its endpoint.
  if (record?.issuer !== issuer) {
    throw new WritError('INTERNAL', 'the authorization server metadata names a different issuer', { reasons: ['issuer_mismatch'] })
  }
  if (typeof record.token_endpoint !== 'string' || !/^https?:\/\//.test(record.token_endpoint)) {
    throw new WritError('INTERNAL', 'the authorization server metadata has no valid token_endpoint', { reasons: ['metadata_invalid'] })
  }
  return record as AuthorizationServerMetadata
}

async function send(fetchImpl: typeof fetch, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetchImpl(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  } catch (cause) {
    throw new WritError('SERVER_UNAVAILABLE', 'writ could not be reached', { reasons: ['network_error'], cause })
  }
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json()
  } catch {
    return undefined
  }
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
