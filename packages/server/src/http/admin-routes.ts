/** The admin API (loopback by default): registry, audit, keys and admin credentials, all behind admin auth. */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { WritError } from '@writ/sdk'
import { agentRoutes } from '../agents/agent-routes.js'
import type { AgentCache } from '../agents/agent-cache.js'
import { adminRoutes as adminCredentialRoutes } from '../admins/admin-routes.js'
import { auditRoutes } from '../audit/audit-routes.js'
import type { AuditSelfCheck } from '../audit/audit-self-check.js'
import type { Clock } from '../clock.js'
import { problemResponse, toWritError } from '../errors/error-responses.js'
import { keyRoutes } from '../keys/key-routes.js'
import type { KeyManager } from '../keys/key-manager.js'
import type { Logger } from '../logger.js'
import type { Storage } from '../storage/storage.js'
import { adminAuth, type AdminEnv } from './admin-auth.js'
import { approvalRoutes } from '../oversight/approval-routes.js'
import type { ActivePolicy } from '../policy/active-policy.js'
import { policyRoutes } from '../policy/policy-routes.js'
import { statusRoutes } from '../status/status-routes.js'
import { grantRoutes } from '../delegation/grant-routes.js'
import type { MandateDeps } from '../delegation/mandates.js'
import { trustRoutes } from '../federation/trust-routes.js'
import type { TrustProviders } from '../federation/trust-providers.js'
import { resourceServerRoutes } from '../resource-servers/resource-server-routes.js'
import type { ResourceServerCache } from '../resource-servers/resource-server-cache.js'
import { revocationRoutes } from '../revocation/revocation-routes.js'
import { hostAdminRoutes, type HostCaches } from '../hosts/host-routes.js'
import type { Revocations } from '../revocation/revocations.js'

/** Identity documents and policy sets are larger than token requests; still capped before parsing. */
export const ADMIN_BODY_LIMIT = 1024 * 1024

export interface AdminRoutesDeps {
  storage: Storage
  clock: Clock
  keys: KeyManager
  cache: AgentCache
  logger: Logger
  policy: ActivePolicy
  forbidOwnerApproval: boolean
  selfCheck: AuditSelfCheck
  /** Where agents reach the public API (whoami tells `writ login`). */
  publicUrl: string
  /** Delegation grants: mandates, listing and revocation. */
  mandates: MandateDeps
  /** Trusted outside issuers, listed read-only (`writ trust list`). */
  trust: TrustProviders
  /** Registered resource servers; the cache is refreshed after each change. */
  resourceServers: { issuer: string; cache: Pick<ResourceServerCache, 'refresh'> }
  /** Revocation of tokens, tasks, grants, agents (the kill switch) and keys. */
  revocations: Revocations
  /** Enrolled hosts: join tokens, labels, removal; the caches are refreshed after each change. */
  hosts: HostCaches
}

export function adminRoutes(deps: AdminRoutesDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()
  app.use('/v1/*', bodyLimit({
    maxSize: ADMIN_BODY_LIMIT,
    onError: () => { throw new WritError('REQUEST_TOO_LARGE', `the body exceeds ${ADMIN_BODY_LIMIT} bytes`) },
  }))
  app.use('/v1/*', adminAuth(deps.storage, deps.clock))
  app.route('/v1', agentRoutes({ storage: deps.storage, clock: deps.clock, cache: deps.cache }))
  app.route('/v1', auditRoutes(deps.storage))
  app.route('/v1', keyRoutes(deps.keys, deps.storage, deps.clock))
  app.route('/v1', adminCredentialRoutes({ storage: deps.storage, clock: deps.clock, publicUrl: deps.publicUrl }))
  app.route('/v1', policyRoutes(deps.policy, deps.storage, deps.clock))
  app.route('/v1', approvalRoutes({ storage: deps.storage, clock: deps.clock, forbidOwnerApproval: deps.forbidOwnerApproval }))
  app.route('/v1', grantRoutes(deps.mandates))
  app.route('/v1', trustRoutes(deps.trust))
  app.route('/v1', resourceServerRoutes({ storage: deps.storage, clock: deps.clock, ...deps.resourceServers }))
  app.route('/v1', hostAdminRoutes({ storage: deps.storage, clock: deps.clock, ...deps.hosts }))
  app.route('/v1', revocationRoutes({ revocations: deps.revocations, storage: deps.storage }))
  app.route('/v1', statusRoutes({ storage: deps.storage, keys: deps.keys, policy: deps.policy, selfCheck: deps.selfCheck, clock: deps.clock }))
  app.notFound((c) => problemResponse(c, new WritError('NOT_FOUND', `no route for ${c.req.method} \`${c.req.path.slice(0, 128)}\``)))
  app.onError((error, c) => problemResponse(c, toWritError(error, deps.logger)))
  return app
}
