/** The one composition root: every dependency is built here and passed explicitly. */
import { join, resolve } from 'node:path'
import type { Context, Hono } from 'hono'
import { AgentCache } from './agents/agent-cache.js'
import { bootstrapAdmin } from './admins/bootstrap.js'
import { AuditSelfCheck } from './audit/audit-self-check.js'
import type { Clock } from './clock.js'
import type { Config } from './config/schema.js'
import { FederatedClientAuthenticator } from './federation/federated-client-authenticator.js'
import { OidcHumanTokenVerifier } from './federation/oidc-human-token-verifier.js'
import { TrustProviders } from './federation/trust-providers.js'
import { adminRoutes } from './http/admin-routes.js'
import type { AdminEnv } from './http/admin-auth.js'
import { publicRoutes } from './http/public-routes.js'
import { FileKeyManager } from './keys/file-key-manager.js'
import type { KeyManager } from './keys/key-manager.js'
import type { Logger } from './logger.js'
import { ActivePolicy } from './policy/active-policy.js'
import type { PolicyEngine } from './policy/policy-engine.js'
import { approvalWebhook } from './oversight/approval-webhook.js'
import { RateLimits } from './rate-limits/rate-limits.js'
import { openStorage } from './storage/open-storage.js'
import { SqliteMaintenanceThread } from './storage/sqlite-maintenance-thread.js'
import { writeStorageRecord } from './storage/storage-record.js'
import type { Storage } from './storage/storage.js'
import { IssuanceLog, transactionWriter } from './tokens/issuance-log.js'
import { normaliseTokenEndpoints } from './tokens/dpop-proof-check.js'
import { IssuanceThread } from './tokens/issuance-thread.js'
import { grantVerifier } from './delegation/verify-grant.js'
import type { HumanTokenVerifier } from './delegation/human-token-verifier.js'
import { audiences as acceptedAudiences } from './resource-servers/audiences.js'
import { ResourceServerCache } from './resource-servers/resource-server-cache.js'
import { apiTokenVerifier, type ApiTokenVerifier } from './resource-servers/verify-api-token.js'
import { ownSignatureCheck } from './keys/own-signature.js'
import { streamAuthorizer } from './resource-servers/authorize-stream.js'
import { PostgresRevocationListener } from './revocation/postgres-revocation-listener.js'
import { RevocationFeed } from './revocation/revocation-feed.js'
import { RevocationState } from './revocation/revocation-state.js'
import type { AuthorizeStream } from './revocation/revocation-stream-routes.js'
import { RevocationStreams } from './revocation/revocation-streams.js'
import { Revocations } from './revocation/revocations.js'
import { withdrawRevokedKeys } from './revocation/withdraw-revoked-keys.js'
import { HostDirectory } from './hosts/host-directory.js'
import { hostAuthenticator, type HostAuthenticator } from './hosts/authenticate-host.js'
import { sshHostDirectory, type SshHostDirectory } from './ssh/host-directory.js'
import { openSshCertificateAuthorities, type SshCertificateAuthorities } from './ssh/ssh-certificate-authorities.js'
import { SshRevocationList } from './ssh/ssh-revocation-list.js'
import { sshRoutes } from './ssh/ssh-routes.js'

export interface AppOptions {
  config: Config
  clock: Clock
  logger: Logger
  /** The issuer identifier, once the public address is known. */
  issuer: string
  /** Keep keys and the admin credential in memory only (tests, `writ demo`). */
  ephemeral?: boolean
  /** Overrides for tests: a prepared storage, fixed keys or another policy engine. */
  storage?: Storage
  keys?: KeyManager
  policy?: PolicyEngine
  remoteAddress?: (c: Context) => string | undefined
  /** Overrides for tests: verifies humans' tokens for delegation; by default `trust.humanIssuers` (federation/). */
  humanTokens?: HumanTokenVerifier
  /** Overrides for tests: checks the revocation stream's bearer token (by default Writ's API tokens, resource-servers/). */
  authorizeStream?: AuthorizeStream
  /** Overrides for tests: the enrolled hosts as the SSH endpoints see them. */
  sshHosts?: SshHostDirectory
}

export interface App {
  publicApp: Hono
  adminApp: Hono<AdminEnv>
  storage: Storage
  keys: KeyManager
  /** The policy set in force (Cedar, within each agent's permission boundary). */
  policy: ActivePolicy
  /** The audit chain's self-check (its state is what `GET /v1/status` shows). */
  selfCheck: AuditSelfCheck
  issuer: string
  /** The bootstrap credential when this start created it (shown once by the caller). */
  bootstrapCredential: string | undefined
  /** The token endpoint's rate limits; `flush()` writes the refusal summary now instead of at the interval. */
  rateLimits: RateLimits
  /** Checks Writ's own API token (resource servers' `client_credentials` with `scope=writ:revocations`). */
  verifyApiToken: ApiTokenVerifier
  /** Registered resource servers in memory (refreshed on change and on an interval). */
  resourceServers: ResourceServerCache
  /** Enrolled hosts in memory, by id and name (refreshed on change and on an interval); hosts/. */
  hosts: HostDirectory
  /** Resolves a host's API token (`Authorization: Bearer`) to the active host: the host-only endpoints' check. */
  authenticateHost: HostAuthenticator
  /** Revoke tokens, tasks, grants, agents and keys (one audited transaction each; the events reach every replica). */
  revocations: Revocations
  /** What this replica knows to be revoked (introspection asks it). */
  revocationState: RevocationState
  /** This replica's reader of revocation events (tests wait on it). */
  revocationFeed: RevocationFeed
  /** The open revocation streams of this replica. */
  revocationStreams: RevocationStreams
  /** PostgreSQL: the LISTEN connection that hears other replicas' revocations. */
  revocationListener: PostgresRevocationListener | undefined
  /** Writ's SSH user and host CAs (ssh/). */
  sshCas: SshCertificateAuthorities
  /** The KRL hosts install as sshd's RevokedKeys. */
  sshRevocationList: SshRevocationList
  /** Stop taking requests' work, commit what is queued, close storage. */
  close(): Promise<void>
}

// Replicas sharing PostgreSQL see a resource server registered, changed or removed through another one this soon.
const RESOURCE_SERVER_REFRESH_MS = 5_000

// Often, so that each prune is small (expired replay rows accumulate at the issuance rate).
const PRUNE_INTERVAL_MS = 10_000

export async function buildApp(options: AppOptions): Promise<App> {
  const { config, clock, logger, issuer } = options
  const dataDir = options.ephemeral ? undefined : resolve(config.dataDir)
  const sqlitePath = config.storage.sqlitePath ?? (dataDir ? join(dataDir, 'writ.db') : ':memory:')
  const storage = options.storage ?? await openStorage({
    driver: config.storage.driver, sqlitePath, url: config.storage.url, poolSize: config.storage.poolSize,
  })
  if (dataDir && !options.storage) writeStorageRecord(dataDir, { driver: config.storage.driver, sqlitePath, url: config.storage.url })
  const keys = options.keys ?? await FileKeyManager.open({
    file: dataDir && join(dataDir, 'keys', 'signing-keys.json'),
    algorithm: config.keys.algorithm,
    encryptionKey: config.keys.encryptionKey,
    clock,
  })
  const bootstrapCredential = await bootstrapAdmin(storage, clock, dataDir)
  const active = await ActivePolicy.load({ storage, clock, timeZone: config.policy.timeZone })
  const policy: PolicyEngine & { version?: () => number } = options.policy ?? active
  const { webhookUrl, webhookSecret, ...oversightSettings } = config.oversight
  const notify = webhookUrl && webhookSecret ? approvalWebhook({ url: webhookUrl, secret: webhookSecret }, clock, logger) : () => undefined
  const cache = new AgentCache(storage.agents, clock)
  // More connections only make sense to a file of our own; `:memory:` and injected storages do everything in-thread.
  const threaded = !options.storage && storage.driver === 'sqlite' && sqlitePath !== ':memory:' && config.storage.sqliteThreads
    && IssuanceThread.available() && SqliteMaintenanceThread.available()
  const thread = threaded ? await IssuanceThread.start(sqlitePath) : undefined
  const maintenance = threaded ? await SqliteMaintenanceThread.start(sqlitePath, logger) : undefined
  // Two batches in flight keep the commit thread busy; the in-thread writer commits one at a time, as before.
  const log = thread
    ? new IssuanceLog(thread.write, clock, config.audit.batchMaxSize, 2)
    : new IssuanceLog(transactionWriter(storage), clock, config.audit.batchMaxSize)
  // Registered resource servers in memory: their audiences for `resource`, their keys for private_key_jwt.
  const resourceServers = new ResourceServerCache(storage.resourceServers)
  await resourceServers.refresh()
  resourceServers.start(RESOURCE_SERVER_REFRESH_MS, logger)
  const audiences = acceptedAudiences([config.tokens.audience, ...config.tokens.audiences], resourceServers)
  // Enrolled hosts: each is also the resource server of its audience (urn:writ:host:<name>), so it shares that refresh.
  const hosts = new HostDirectory(storage.hosts)
  await hosts.refresh()
  hosts.start(RESOURCE_SERVER_REFRESH_MS, logger)
  // Checked before the first request and then on a schedule; from the head verified last, so a restart is cheap.
  const selfCheck = new AuditSelfCheck({
    audit: storage.audit, clock, logger, haltIssuance: config.audit.haltIssuanceOnBrokenChain,
    ...(maintenance ? { walk: (from, pageSize) => maintenance.verifyChain(from, pageSize) } : {}),
  })
  await selfCheck.check()
  selfCheck.start(config.audit.selfCheckIntervalMs)
  // Outside issuers (workload providers, human issuers): discovery and keys are fetched on first use, then cached.
  const trust = new TrustProviders(config.trust, clock)
  const federated = trust.hasProviders || trust.humanIssuers().length > 0
    ? new FederatedClientAuthenticator({ providers: trust, agents: cache, clock, leewaySeconds: config.tokens.leewaySeconds })
    : undefined
  // With no human issuer configured the token exchange trusts no human token (fail closed).
  const humanTokens = options.humanTokens ?? (trust.humanIssuers().length > 0
    ? new OidcHumanTokenVerifier({ trust, clock, issuer, leewaySeconds: config.tokens.leewaySeconds })
    : undefined)
  // Refusals reach the audit chain through the group commit, like every other record of the token endpoint.
  const rateLimits = new RateLimits(config.rateLimits, { clock, audit: async (event) => { await log.commit({ audit: event }) } })
  let ready = true
  const ownSignature = ownSignatureCheck(keys)
  const verifyApiToken = apiTokenVerifier({
    signature: ownSignature, resourceServers, clock, issuer,
    leewaySeconds: config.tokens.leewaySeconds, maxLifetimeSeconds: config.tokens.ttlSeconds,
  })
  const authenticateHost = hostAuthenticator(verifyApiToken, hosts)
  // Revocation: storage is the one source of events; the feed reads it after a local commit, on a notification from
  // another replica (PostgreSQL), and on a backstop timer (also another process on the same SQLite file).
  const revocationFeed = new RevocationFeed(storage.revocations, clock, logger)
  await revocationFeed.start()
  const revocationState = await RevocationState.load(storage.revocations, revocationFeed, clock)
  // A key revoked through another replica (or while this one was down) leaves this replica's keyset too.
  await withdrawRevokedKeys(keys, await storage.revocations.liveOfKind('key', clock.nowMs()), logger)
  revocationFeed.subscribe((events) => { void withdrawRevokedKeys(keys, events, logger) })
  const revocations = new Revocations({
    storage, keys, clock, issuer, agentCache: cache, committed: () => { void revocationFeed.catchUp() },
  })
  const revocationStreams = new RevocationStreams({
    revocations: storage.revocations, feed: revocationFeed, clock, logger,
    heartbeatSeconds: config.revocation.heartbeatSeconds, maxStreams: config.revocation.maxStreams,
  })
  revocationStreams.start()
  const revocationListener = storage.driver === 'postgres' && config.storage.url
    ? await PostgresRevocationListener.start(config.storage.url, () => revocationFeed.catchUp(), logger)
    : undefined
  const revocationPoll = setInterval(() => { void revocationFeed.catchUp() }, config.revocation.pollIntervalMs)
  revocationPoll.unref()
  // SSH: two CAs kept beside the signing keys; certificates group-committed like tokens; a KRL kept current by the feed.
  const sshCas = openSshCertificateAuthorities({
    file: dataDir && join(dataDir, 'keys', 'ssh-ca.json'), encryptionKey: config.keys.encryptionKey, nowMs: clock.nowMs(),
  })
  const sshHosts = options.sshHosts ?? sshHostDirectory(hosts)
  const sshRevocationList = new SshRevocationList({
    certificates: storage.sshCertificates, revocationState, feed: revocationFeed, hosts: sshHosts, cas: sshCas, clock, logger,
  })
  await sshRevocationList.start(config.ssh.krlSweepIntervalMs)
  const verifyGrant = grantVerifier({ keys, grants: storage.grants, clock, issuer, leewaySeconds: config.tokens.leewaySeconds })

  const publicApp = publicRoutes({
    issuer, audiences, keys, logger, ready: () => ready, issuanceHalted: () => selfCheck.issuanceHalted,
    remoteAddress: options.remoteAddress ?? (() => undefined),
    rateLimits,
    mint: {
      auth: {
        agents: cache, clock, audiences: [issuer, `${issuer}/oauth/token`],
        maxAgeSeconds: config.tokens.assertionMaxAgeSeconds, leewaySeconds: config.tokens.leewaySeconds,
        ...(federated ? { external: federated } : {}),
        resourceServers,
      },
      policy, keys, log, clock, issuer, ttlSeconds: config.tokens.ttlSeconds, audiences, hosts,
      hold: { approvals: storage.approvals, log, clock, settings: oversightSettings, notify },
      rateLimits,
      ...(federated ? { assertionGrants: federated } : {}),
      dpop: {
        clock, maxAgeSeconds: config.tokens.dpopProofMaxAgeSeconds, leewaySeconds: config.tokens.leewaySeconds,
        requireAll: config.tokens.requireDpop,
        // `htu` is the token endpoint as advertised, or as reached through the public URL when that differs.
        tokenEndpoints: normaliseTokenEndpoints([`${issuer}/oauth/token`, `${config.server.publicUrl ?? issuer}/oauth/token`]),
      },
    },
    exchange: { verifyGrant, agents: cache, maxDepth: config.delegation.maxDepth, humanTokens, settings: config.delegation },
    revocationEvents: {
      streams: revocationStreams, revocations: storage.revocations, feed: revocationFeed, clock,
      authorize: options.authorizeStream ?? streamAuthorizer(verifyApiToken),
    },
    tokenManagement: { signature: ownSignature, revocations, revocationState },
    hosts: {
      storage, clock, issuer, directory: hosts, resourceServers, rateLimits,
      remoteAddress: options.remoteAddress ?? (() => undefined), authenticate: authenticateHost,
    },
  })
  publicApp.route('/', sshRoutes({
    cas: sshCas, hosts: sshHosts, krl: sshRevocationList, verifyApiToken, logger, rateLimits,
    remoteAddress: options.remoteAddress ?? (() => undefined),
    user: {
      signature: ownSignature, revocationState, clock, issuer, leewaySeconds: config.tokens.leewaySeconds,
      dpop: {
        maxAgeSeconds: config.tokens.dpopProofMaxAgeSeconds,
        endpoints: [...new Set([`${issuer}/ssh/certificates`, `${config.server.publicUrl ?? issuer}/ssh/certificates`])],
      },
      hosts: sshHosts, log, settings: config.ssh,
    },
    host: { hosts: sshHosts, storage, clock, settings: config.ssh },
  }))
  const adminApp = adminRoutes({ storage, clock, keys, cache, logger, policy: active, forbidOwnerApproval: oversightSettings.forbidOwnerApproval,
    selfCheck, publicUrl: config.server.publicUrl ?? issuer,
    mandates: { storage, keys, clock, issuer, settings: config.delegation, revocations }, trust, revocations,
    resourceServers: { issuer, cache: resourceServers },
    hosts: { directory: hosts, resourceServers },
  })

  const pruner = setInterval(() => {
    rateLimits.prune()
    revocationState.prune()
    if (maintenance) {
      maintenance.prune(clock.nowMs())
      // Revocation events are few (one per revocation); their prune is one short statement on this connection.
      storage.revocations.pruneEvents(clock.nowMs(), 1_000).catch((error: unknown) => logger.warn('prune failed', { error: String(error) }))
      storage.sshCertificates.pruneExpired(clock.nowMs(), 1_000).catch((error: unknown) => logger.warn('prune failed', { error: String(error) }))
    } else {
      storage.prune(clock.nowMs()).catch((error: unknown) => logger.warn('prune failed', { error: String(error) }))
    }
  }, PRUNE_INTERVAL_MS)
  pruner.unref()
  // Replicas sharing PostgreSQL pick up a set pushed through another one within the reload interval.
  const reloader = setInterval(() => {
    active.refresh().catch((error: unknown) => logger.error('policy reload failed; the previous set stays in force', { error: String(error) }))
  }, config.policy.reloadIntervalMs)
  reloader.unref()
  const writeRefusals = () => rateLimits.flush().catch((error: unknown) => logger.error('the rate-limit summary could not be audited; its counts carry over', { error: String(error) }))
  const refusalAudit = setInterval(writeRefusals, config.rateLimits.auditIntervalMs)
  refusalAudit.unref()

  return {
    publicApp, adminApp, storage, keys, policy: active, selfCheck, issuer, bootstrapCredential, rateLimits, verifyApiToken, resourceServers,
    hosts, authenticateHost,
    revocations, revocationState, revocationFeed, revocationStreams, revocationListener, sshCas, sshRevocationList,
    async close() {
      ready = false
      sshRevocationList.stop()
      clearInterval(revocationPoll)
      revocationStreams.close()
      await revocationListener?.close()
      clearInterval(pruner)
      clearInterval(reloader)
      resourceServers.stop()
      hosts.stop()
      await selfCheck.stop()
      clearInterval(refusalAudit)
      // The last interval's refusals are audited before the log drains and storage closes.
      await writeRefusals()
      await log.flush()
      await thread?.close()
      await maintenance?.close()
      await storage.close()
    },
  }
}
