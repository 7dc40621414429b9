/** The SDK clients' HTTP with Writ: bounded requests, no redirects, and the RFC 8414 metadata check against mix-up. */
import { WritError } from '../errors/writ-error.js'
import type { AuthorizationServerMetadata } from '../wire/profile.js'

const REQUEST_TIMEOUT_MS = 10_000

export async function fetchMetadata(fetchImpl: typeof fetch, url: string, issuer: string): Promise<AuthorizationServerMetadata> {
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

export async function send(fetchImpl: typeof fetch, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetchImpl(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  } catch (cause) {
    throw new WritError('SERVER_UNAVAILABLE', 'writ could not be reached', { reasons: ['network_error'], cause })
  }
}

export async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json()
  } catch {
    return undefined
  }
}
