/** Where the host agent gets Writ's API token: the host's own private_key_jwt, through the SDK's ResourceServerClient. */
import type { JsonWebKey, KeyObject } from 'node:crypto'
import { ResourceServerClient, REVOCATIONS_SCOPE } from '@writ/sdk'

/** `refresh: true` asks for a new token (the last one was refused). */
export type ApiTokenSource = (refresh: boolean) => Promise<string>

export function hostApiTokenSource(options: { issuer: string; hostId: string; privateKey: KeyObject | JsonWebKey; fetch?: typeof fetch }): ApiTokenSource {
  const client = new ResourceServerClient({
    issuer: options.issuer, clientId: options.hostId, privateKey: options.privateKey, ...(options.fetch ? { fetch: options.fetch } : {}),
  })
  // One token serves the revocation stream and the host endpoints (docs/hosts.md): the server resolves the host from it.
  return async (refresh) => (await client.apiToken(REVOCATIONS_SCOPE, { refresh })).token
}
