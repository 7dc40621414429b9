/**
 * The revocation stream's AuthorizeStream port, implemented with Writ's API token: `Authorization: Bearer <token>` with
 * the `writ:revocations` scope. A DPoP-bound API token is refused here (the stream takes no proof): fail closed.
 */
import { WritError } from '@writ/sdk'
import type { AuthorizeStream } from '../revocation/revocation-stream-routes.js'
import type { ApiTokenVerifier } from './verify-api-token.js'

export function streamAuthorizer(verify: ApiTokenVerifier): AuthorizeStream {
  return async (header) => {
    // RFC 6750 §2.1: the scheme is case-insensitive; exactly one token after it.
    const match = header === undefined ? null : /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header)
    if (match === null) throw new WritError('TOKEN_INVALID', 'a bearer access token is required', { reasons: ['authorization_missing'] })
    const verified = await verify(match[1] as string, 'writ:revocations')
    return { clientId: verified.clientId, expMs: verified.exp * 1000 }
  }
}
