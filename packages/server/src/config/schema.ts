/** The one configuration schema: types, defaults, validation and documentation of every setting. */
import { z } from 'zod'
import { DPOP, EXTERNAL_TOKEN_ALGORITHMS, LIFETIMES } from '@writ/sdk'

const port = z.number().int().min(0).max(65_535)

/** A token bucket on the token endpoint: `burst` requests at once, refilled continuously at `ratePerSecond`. */
function bucketSettings(ratePerSecond: number, burst: number, who: string, note = '') {
  return z.strictObject({
    enabled: z.boolean().default(true).describe(`Limit the token requests of each ${who}${note}.`),
    ratePerSecond: z.number().min(0).max(10_000_000).default(ratePerSecond)
      .describe(`Sustained token requests per second of each ${who} (continuous refill); 0 disables.`),
    burst: z.number().int().min(1).max(10_000_000).default(burst).describe(`Token requests of each ${who} allowed at once.`),
  }).prefault({})
}

/** An issuer URL Writ fetches discovery and keys from: https, or http on loopback only (tests, sidecars). */
const issuerUrl = z.url().refine((value) => {
  const url = new URL(value)
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback)
}, 'must use https (http is allowed only on loopback)')

const externalAlgorithms = z.array(z.enum(EXTERNAL_TOKEN_ALGORITHMS)).min(1).default([...EXTERNAL_TOKEN_ALGORITHMS])
  .describe('Accepted `alg` values (asymmetric only).')

const trustProviderSchema = z.strictObject({
  name: z.string().min(1).max(63).regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits and . _ - only')
    .describe('The name identity documents use in `federated_identities[].provider`.'),
  issuer: issuerUrl.describe('Exact `iss` of the tokens; discovery is read from `<issuer>/.well-known/openid-configuration`.'),
  audience: z.string().min(1).max(512).describe('The `aud` the tokens must carry for Writ (exact).'),
  kind: z.enum(['oidc', 'github-actions', 'kubernetes']).default('oidc')
    .describe('`github-actions` and `kubernetes` also require the claim shape of those platforms\' tokens.'),
  singleUse: z.boolean().default(false).describe('Refuse a second use of a token `jti` (the token must carry one).'),
  maxLifetimeSeconds: z.number().int().min(60).max(86_400).default(3_600).describe('Longest accepted `exp - iat`.'),
  algorithms: externalAlgorithms,
})

const humanIssuerSchema = z.strictObject({
  issuer: issuerUrl.describe('Exact `iss` of the human tokens; discovery is read from `<issuer>/.well-known/openid-configuration`.'),
  audience: z.string().min(1).max(512).describe('The `aud` human ID tokens and JWT access tokens must carry (exact). An ID-JAG must name Writ\'s issuer instead.'),
  userClaim: z.string().min(1).max(128).default('sub').describe('The claim that names the user.'),
  groupsClaim: z.string().min(1).max(128).optional().describe('The claim with the user\'s groups (a list of strings).'),
  maxLifetimeSeconds: z.number().int().min(60).max(86_400).default(3_600).describe('Longest accepted `exp - iat`.'),
  algorithms: externalAlgorithms,
})

export type TrustProviderSettings = z.infer<typeof trustProviderSchema>
export type HumanIssuerSettings = z.infer<typeof humanIssuerSchema>

export const configSchema = z.strictObject({
  dataDir: z.string().min(1).default('./.writ')
    .describe('Directory holding the SQLite file, signing keys, the bootstrap admin credential and server.json.'),
  issuer: z.url().optional()
    .describe('Issuer identifier placed in tokens and metadata; defaults to the public URL.'),
  server: z.strictObject({
    host: z.string().default('127.0.0.1').describe('Address of the public API (token endpoint, metadata, JWKS).'),
    port: port.default(8080).describe('Port of the public API.'),
    adminHost: z.string().default('127.0.0.1').describe('Address of the admin API; loopback by default.'),
    adminPort: port.default(8081).describe('Port of the admin API.'),
    publicUrl: z.url().optional().describe('External URL of the public API, when behind a proxy.'),
    requestTimeoutMs: z.number().int().positive().default(10_000).describe('Whole-request timeout (slowloris).'),
    headersTimeoutMs: z.number().int().positive().default(5_000).describe('Time allowed to send the headers.'),
    shutdownGraceMs: z.number().int().positive().default(10_000).describe('How long SIGTERM waits for in-flight requests.'),
    tls: z.strictObject({
      certFile: z.string().min(1).optional().describe('PEM certificate chain; with keyFile, both APIs speak HTTPS only.'),
      keyFile: z.string().min(1).optional().describe('PEM private key of certFile (keep it 0600). Both files or neither.'),
    }).prefault({}).superRefine((tls, ctx) => {
      const [set, missing] = tls.certFile === undefined ? ['keyFile', 'certFile'] : ['certFile', 'keyFile']
      if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) ctx.addIssue({ code: 'custom', path: [set], message: `server.tls.${missing} is missing: set both, or neither` })
    }),
  }).prefault({}),
  storage: z.strictObject({
    driver: z.enum(['sqlite', 'postgres']).default('sqlite').describe('Embedded SQLite file, or PostgreSQL for several replicas.'),
    url: z.string().optional().describe('PostgreSQL connection URL (driver postgres). Treated as a secret.'),
    sqlitePath: z.string().optional().describe('SQLite file; defaults to <dataDir>/writ.db. `:memory:` for tests.'),
    poolSize: z.number().int().min(1).max(100).default(10).describe('PostgreSQL pool size.'),
    sqliteThreads: z.boolean().default(true)
      .describe('SQLite file only: commit token-endpoint batches on a worker thread, and checkpoint the WAL and prune expired replay rows on another, each with its own connection, so that neither fsync nor maintenance blocks request handling.'),
  }).prefault({}),
  keys: z.strictObject({
    algorithm: z.enum(['EdDSA', 'ES256']).default('EdDSA').describe('Algorithm of newly generated signing keys.'),
    encryptionKey: z.string().optional()
      .describe('Key-encryption key (base64 of 32 bytes); when set, signing keys are stored AES-256-GCM encrypted. Secret.'),
  }).prefault({}),
  tokens: z.strictObject({
    ttlSeconds: z.number().int().min(10).max(LIFETIMES.capabilityMax).default(LIFETIMES.capabilityDefault)
      .describe('Lifetime of capability tokens; the profile caps it at 15 minutes.'),
    audience: z.string().min(1).default('urn:writ:resource-server')
      .describe('Default `aud` of capability tokens when the request names no resource.'),
    audiences: z.array(z.string().min(1)).default([])
      .describe('Further audiences a request may name with the `resource` parameter (RFC 8707), besides registered resource servers\' (`writ resource-server register`); kept as a fallback for set-ups without registered resource servers.'),
    assertionMaxAgeSeconds: z.number().int().min(10).max(LIFETIMES.clientAssertionMax).default(LIFETIMES.clientAssertionMax)
      .describe('Longest accepted lifetime of a client assertion.'),
    leewaySeconds: z.number().int().min(0).max(LIFETIMES.maxLeeway).default(30).describe('Clock leeway for time claims.'),
    requireDpop: z.boolean().default(false)
      .describe('Refuse token requests without a DPoP proof (RFC 9449) from every agent; a document can require it per agent (`require_dpop`).'),
    dpopProofMaxAgeSeconds: z.number().int().min(5).max(DPOP.maxAgeSecondsMax).default(DPOP.maxAgeSeconds)
      .describe('How old a DPoP proof\'s `iat` may be at the token endpoint; its jti is remembered that long.'),
  }).prefault({}),
  audit: z.strictObject({
    batchMaxSize: z.number().int().min(1).max(1_000).default(256)
      .describe('Most token issuances committed in one durable transaction (group commit).'),
    selfCheckIntervalMs: z.number().int().min(1_000).default(60_000)
      .describe('How often the server verifies the audit records appended since the head it verified last (also at start-up).'),
    haltIssuanceOnBrokenChain: z.boolean().default(true)
      .describe('When the self-check finds the audit chain broken, refuse every token request with 503 AUDIT_CHAIN_BROKEN until the chain is repaired and the server restarted.'),
  }).prefault({}),
  policy: z.strictObject({
    timeZone: z.string().min(1).default('UTC')
      .describe('IANA time zone of context.time (hour, weekday, date) in policies.'),
    reloadIntervalMs: z.number().int().min(100).default(5_000)
      .describe('How often a replica checks storage for a policy set pushed through another replica.'),
  }).prefault({}),
  oversight: z.strictObject({
    approvalTtlSeconds: z.number().int().min(30).max(86_400).default(600)
      .describe('How long a held request waits for a human before it expires.'),
    pollIntervalSeconds: z.number().int().min(1).max(60).default(5)
      .describe('Minimum interval between polls of a held request (CIBA `interval`); faster polls get slow_down.'),
    maxPendingPerAgent: z.number().int().min(1).max(1_000).default(20)
      .describe('Open holds per agent; more are refused with 429 (approval-queue flood).'),
    forbidOwnerApproval: z.boolean().default(true)
      .describe("Refuse an approval by the admin whose name is the agent's owner (four-eyes)."),
    webhookUrl: z.url().optional().describe('Notified (POST, JSON) when a request is held.'),
    webhookSecret: z.string().min(16).optional()
      .describe('HMAC-SHA256 key for the webhook signature header `Writ-Signature`. Secret; required with webhookUrl.'),
  }).prefault({}),
  delegation: z.strictObject({
    maxDepth: z.number().int().min(1).max(8).default(3)
      .describe('Most agents in a delegation chain (the agent a human delegated to counts 1); a sub-delegation beyond it is refused.'),
    grantTtlSeconds: z.number().int().min(60).max(LIFETIMES.grantMax).default(3_600)
      .describe("Lifetime (and longest requested lifetime) of a grant issued for a human's token, and the lifetime of a mandate given no `until`."),
    maxGrantSeconds: z.number().int().min(60).max(LIFETIMES.grantMax).default(86_400)
      .describe('Longest lifetime of any delegation grant, a mandate included; the profile caps it at 7 days.'),
  }).prefault({}),
  rateLimits: z.strictObject({
    perAgent: bucketSettings(50, 100, 'authenticated agent'),
    // Behind a reverse proxy the TCP peer is the proxy: raise or disable this and limit at the proxy.
    perAddress: bucketSettings(500, 1_000, 'client address', ' (the TCP peer, never a header; IPv6 by /64)'),
    maxTrackedKeys: z.number().int().min(100).max(10_000_000).default(50_000)
      .describe('Most buckets kept per kind (agents, addresses); beyond it the idlest are dropped, so made-up addresses cannot grow memory.'),
    auditIntervalMs: z.number().int().min(1_000).max(3_600_000).default(60_000)
      .describe('Refusals are audited as one `rate_limit.refused` summary per interval (counts per agent and address), written only when there were any.'),
  }).prefault({}),
  trust: z.strictObject({
    providers: z.array(trustProviderSchema).max(64).default([])
      .describe('Identity providers whose workload tokens authenticate agents through their `federated_identities` (docs/federation.md).'),
    humanIssuers: z.array(humanIssuerSchema).max(64).default([])
      .describe('Identity providers whose tokens name humans: for token exchange and ID-JAG (docs/federation.md).'),
    fetchTimeoutMs: z.number().int().min(100).max(30_000).default(3_000)
      .describe('Timeout of each discovery or JWKS fetch; an issuer that does not answer fails closed.'),
  }).prefault({}).superRefine((trust, ctx) => {
    const names = new Set<string>()
    const issuers = new Set<string>()
    trust.providers.forEach((provider, index) => {
      if (names.has(provider.name)) ctx.addIssue({ code: 'custom', path: ['providers', index, 'name'], message: `duplicate provider \`${provider.name}\`` })
      // One issuer, one provider: the token's `iss` alone chooses which settings verify it.
      if (issuers.has(provider.issuer)) ctx.addIssue({ code: 'custom', path: ['providers', index, 'issuer'], message: 'another provider has this issuer' })
      names.add(provider.name)
      issuers.add(provider.issuer)
    })
    const humans = new Set<string>()
    trust.humanIssuers.forEach((human, index) => {
      if (humans.has(human.issuer)) ctx.addIssue({ code: 'custom', path: ['humanIssuers', index, 'issuer'], message: 'duplicate issuer' })
      humans.add(human.issuer)
    })
  }),
  revocation: z.strictObject({
    heartbeatSeconds: z.number().int().min(1).max(60).default(2)
      .describe('Interval of the `heartbeat` event on every revocation stream; a strict verifier fails closed when heartbeats stop.'),
    maxStreams: z.number().int().min(1).max(100_000).default(10_000)
      .describe('Most revocation streams open at once on this replica; one more is answered 503 and retries.'),
    pollIntervalMs: z.number().int().min(100).max(60_000).default(2_000)
      .describe('How often a replica reads new revocation events from storage as a backstop to LISTEN/NOTIFY (and to another process on the same SQLite file).'),
  }).prefault({}),
  ssh: z.strictObject({
    certificateTtlSeconds: z.number().int().min(60).max(900).default(300)
      .describe('Default lifetime of an SSH user certificate (never past its capability token\'s `exp`); sshd enforces no maximum itself.'),
    maxCertificateTtlSeconds: z.number().int().min(60).max(900).default(900)
      .describe('Longest SSH user certificate lifetime (at most 15 minutes).'),
    hostCertificateTtlSeconds: z.number().int().min(3_600).max(366 * 86_400).default(30 * 86_400)
      .describe('Lifetime of an SSH host certificate; the host renews it through `POST /ssh/host-certificate`.'),
    krlSweepIntervalMs: z.number().int().min(100).max(60_000).default(2_000)
      .describe('How often the KRL rechecks recently issued certificates (an issue racing a revocation on another replica) and removed hosts.'),
  }).prefault({}),
  log: z.strictObject({
    level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  }).prefault({}),
}).superRefine((config, ctx) => {
  if (config.oversight.webhookUrl && !config.oversight.webhookSecret) {
    ctx.addIssue({ code: 'custom', path: ['oversight', 'webhookSecret'], message: 'required when oversight.webhookUrl is set' })
  }
})

export type Config = z.infer<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>

/** Paths of settings that are secrets: never printed, never defaulted. */
export const SECRET_PATHS = ['storage.url', 'keys.encryptionKey', 'oversight.webhookSecret'] as const
