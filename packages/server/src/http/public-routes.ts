/** The public API (agents and resource servers): token endpoint, metadata, JWKS, health. */
import { Hono } from 'hono'
import { WritError } from '@writ/sdk'
import { problemResponse, toWritError } from '../errors/error-responses.js'
import type { Logger } from '../logger.js'
import { tokenRoutes, type TokenRoutesDeps } from '../tokens/token-routes.js'
import { revocationStreamRoutes, type RevocationStreamRoutesDeps } from '../revocation/revocation-stream-routes.js'

export function publicRoutes(deps: TokenRoutesDeps & { logger: Logger; ready: () => boolean; revocationEvents: RevocationStreamRoutesDeps }): Hono {
  const app = new Hono()
  app.get('/healthz', (c) => (deps.ready() ? c.json({ status: 'ok' }) : c.json({ status: 'draining' }, 503)))
  app.route('/', tokenRoutes(deps))
  app.route('/', revocationStreamRoutes(deps.revocationEvents))
  app.notFound((c) => problemResponse(c, new WritError('NOT_FOUND', `no route for ${c.req.method} \`${c.req.path.slice(0, 128)}\``)))
  app.onError((error, c) => problemResponse(c, toWritError(error, deps.logger)))
  return app
}
