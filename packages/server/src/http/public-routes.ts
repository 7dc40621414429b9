/** The public API (agents and resource servers): token endpoint, revocation, introspection, metadata, JWKS, health. */
import { Hono } from 'hono'
import { WritError } from '@writ/sdk'
import { problemResponse, toWritError } from '../errors/error-responses.js'
import type { Logger } from '../logger.js'
import { tokenRoutes, type TokenRoutesDeps } from '../tokens/token-routes.js'
import { revocationStreamRoutes, type RevocationStreamRoutesDeps } from '../revocation/revocation-stream-routes.js'
import { revocationIntrospectionRoutes, type RevocationIntrospectionRoutesDeps } from '../tokens/revocation-introspection-routes.js'
import { hostPublicRoutes, type HostPublicRoutesDeps } from '../hosts/host-routes.js'

export function publicRoutes(deps: TokenRoutesDeps & {
  logger: Logger; ready: () => boolean; revocationEvents: RevocationStreamRoutesDeps
  /** RFC 7009 and RFC 7662, authenticated like the token endpoint. */
  tokenManagement: Omit<RevocationIntrospectionRoutesDeps, 'logger' | 'remoteAddress' | 'rateLimits' | 'mint' | 'issuer'>
  /** Host enrollment and the hosts' action reports (hosts/). */
  hosts: HostPublicRoutesDeps
}): Hono {
  const app = new Hono()
  app.get('/healthz', (c) => (deps.ready() ? c.json({ status: 'ok' }) : c.json({ status: 'draining' }, 503)))
  app.route('/', tokenRoutes(deps))
  app.route('/', revocationStreamRoutes(deps.revocationEvents))
  app.route('/', revocationIntrospectionRoutes({
    ...deps.tokenManagement, logger: deps.logger, remoteAddress: deps.remoteAddress, rateLimits: deps.rateLimits, mint: deps.mint, issuer: deps.issuer,
  }))
  app.route('/', hostPublicRoutes(deps.hosts))
  app.notFound((c) => problemResponse(c, new WritError('NOT_FOUND', `no route for ${c.req.method} \`${c.req.path.slice(0, 128)}\``)))
  app.onError((error, c) => problemResponse(c, toWritError(error, deps.logger)))
  return app
}
