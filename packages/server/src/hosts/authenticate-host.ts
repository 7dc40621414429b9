/**
 * The host-only endpoints' authentication: `Authorization: Bearer <Writ API token>` (what a host gets with
 * client_credentials + scope=writ:revocations), verified like the revocation stream's, and resolved to an active host.
 * A resource server that is not a host, a removed host, or a DPoP-bound API token (no proof is taken here) is refused.
 */
import { WritError } from '@writ/sdk'
import type { ApiTokenVerifier } from '../resource-servers/verify-api-token.js'
import type { Host } from './host.js'
import type { HostDirectory } from './host-directory.js'

export type HostAuthenticator = (authorizationHeader: string | undefined) => Promise<Host>

export function hostAuthenticator(verify: ApiTokenVerifier, hosts: Pick<HostDirectory, 'byId'>): HostAuthenticator {
  return async (header) => {
    // RFC 6750 §2.1: the scheme is case-insensitive; exactly one token after it.
    const match = header === undefined ? null : /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header)
    if (match === null) throw new WritError('TOKEN_INVALID', 'a host\'s bearer access token is required', { reasons: ['authorization_missing'] })
    const verified = await verify(match[1] as string, 'writ:revocations')
    const host = hosts.byId(verified.clientId)
    // untrusted: a resource server's valid API token is not a host's; only an enrolled, active host passes.
    if (host?.status !== 'active') throw new WritError('TOKEN_INVALID', 'the access token does not belong to an active host', { reasons: ['host_not_active'] })
    return host
  }
}
