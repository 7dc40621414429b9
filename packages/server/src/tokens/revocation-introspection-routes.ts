/** HTTP adapter of RFC 7009 revocation (`/oauth/revoke`) and RFC 7662 introspection (`/oauth/introspect`). */
import { Hono, type Context } from 'hono'
import { SIZE_LIMITS } from '@writ/sdk'
import { oauthErrorResponse, toWritError } from '../errors/error-responses.js'
import { readForm } from '../http/read-form.js'
import type { Logger } from '../logger.js'
import type { RateLimits } from '../rate-limits/rate-limits.js'
import { introspectToken, type IntrospectTokenDeps } from './introspect-token.js'
import { revokeToken, type RevokeTokenDeps } from './revoke-token.js'

export interface RevocationIntrospectionRoutesDeps extends RevokeTokenDeps, IntrospectTokenDeps {
  logger: Logger
  remoteAddress: (c: Context) => string | undefined
  rateLimits: Pick<RateLimits, 'admitAddress'>
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

export function revocationIntrospectionRoutes(deps: RevocationIntrospectionRoutesDeps): Hono {
  const app = new Hono()

  app.post('/oauth/revoke', async (c) => {
    try {
      const client = await readClient(c, deps)
      await revokeToken(client.auth, client.form, deps)
      // RFC 7009 §2.2: 200 whether or not anything was revoked; the body is ignored by clients.
      return c.body(null, 200, NO_STORE)
    } catch (error) {
      return oauthErrorResponse(c, toWritError(error, deps.logger))
    }
  })

  app.post('/oauth/introspect', async (c) => {
    try {
      const client = await readClient(c, deps)
      return c.json(await introspectToken(client.auth, client.form, deps), 200, NO_STORE)
    } catch (error) {
      return oauthErrorResponse(c, toWritError(error, deps.logger))
    }
  })
  return app
}

async function readClient(c: Context, deps: RevocationIntrospectionRoutesDeps) {
  // DOS-01: the address's bucket before the body is read or any signature checked, as at the token endpoint.
  deps.rateLimits.admitAddress(deps.remoteAddress(c))
  const form = await readForm(c, SIZE_LIMITS.tokenEndpointBodyBytes)
  return {
    form,
    auth: { clientId: form.get('client_id'), assertionType: form.get('client_assertion_type'), assertion: form.get('client_assertion') },
  }
}
