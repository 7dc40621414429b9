/** Writ's wire profile: token types, claim names and lifetimes that users and verifiers build on (docs/tokens.md). */

export const TOKEN_TYPES = {
  /** RFC 9068 JWT access token: the per-action capability token. */
  capability: 'at+jwt',
  /** RFC 7523 client assertion, as sent by agents (openid-client sends no typ; `JWT` is tolerated). */
  clientAssertion: 'JWT',
  dpopProof: 'dpop+jwt',
  sudo: 'writ-sudo+jwt',
  /** A delegation grant: usable only as a `subject_token` at Writ's own token endpoint, never as a capability. */
  grant: 'writ-grant+jwt',
} as const

/** Authorization details type of a Writ action (RFC 9396). */
export const WRIT_ACTION_TYPE = 'writ_action'

export const GRANT_TYPES = {
  clientCredentials: 'client_credentials',
  ciba: 'urn:openid:params:grant-type:ciba',
  tokenExchange: 'urn:ietf:params:oauth:grant-type:token-exchange',
  /** RFC 7523 §2.1: an external JWT (a workload token or an ID-JAG) as the authorization grant. */
  jwtBearer: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
} as const

/** RFC 8693 token type identifiers Writ accepts as `subject_token_type` or `requested_token_type`. */
export const TOKEN_TYPE_IDS = {
  grant: 'urn:writ:params:oauth:token-type:grant',
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const

/** Asymmetric algorithms accepted on tokens from trusted external issuers (never `none`, never HMAC). */
export const EXTERNAL_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const

/** `typ` of an Identity Assertion JWT Authorization Grant (draft-ietf-oauth-identity-assertion-authz-grant). */
export const ID_JAG_TYP = 'oauth-id-jag+jwt'

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** Lifetimes in seconds; the profile caps them, configuration can only shorten. */
export const LIFETIMES = {
  capabilityDefault: 300,
  capabilityMax: 900,
  clientAssertionMax: 300,
  maxLeeway: 60,
  /** Longest lifetime of a delegation grant (a mandate's `--until`); configuration can only shorten it. */
  grantMax: 7 * 24 * 3600,
} as const

/** Size caps applied before any parsing or crypto (docs/threats.md DOS-03, JWT-25). */
export const SIZE_LIMITS = {
  tokenBytes: 8 * 1024,
  headerBytes: 16 * 1024,
  tokenEndpointBodyBytes: 64 * 1024,
  jsonDepth: 32,
  actDepth: 8,
} as const

/** Signature algorithms Writ signs with. `Ed25519` is the fully specified name of RFC 9864. */
export const SIGNING_ALGORITHMS = ['EdDSA', 'ES256'] as const
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number]
export const ASSERTION_ALGORITHMS = ['EdDSA', 'Ed25519', 'ES256'] as const
/** RFC 9449: asymmetric algorithms a DPoP proof may use (metadata `dpop_signing_alg_values_supported`). */
export const DPOP_ALGORITHMS = ['EdDSA', 'ES256'] as const

/** RFC 9449 proof profile: the `token_type` of a bound token, the header and scheme names, default windows. */
export const DPOP = {
  tokenType: 'DPoP',
  header: 'DPoP',
  scheme: 'DPoP',
  /** A proof's `iat` may be at most this old (seconds); configuration can only shorten it. */
  maxAgeSeconds: 60,
  maxAgeSecondsMax: 300,
  /** Longest accepted proof `jti`. */
  maxJtiLength: 256,
} as const

export interface WritAction {
  type: typeof WRIT_ACTION_TYPE
  action: string
  resource: string
  parameters?: Record<string, unknown>
  /** RFC 9396 common field: the access needed on the resource, exactly one of read, write, delete. */
  actions?: ['read' | 'write' | 'delete']
}

export interface TaskClaim {
  id: string
  step?: string
  purpose?: string
}

/** RFC 8693 actor claim: outermost is the current actor. */
export interface ActorClaim {
  sub: string
  act?: ActorClaim
}

export interface CapabilityClaims {
  iss: string
  sub: string
  client_id: string
  aud: string | string[]
  iat: number
  exp: number
  nbf?: number
  jti: string
  authorization_details: [WritAction]
  task: TaskClaim
  act?: ActorClaim
  parent?: string
  cnf?: { jkt: string }
}

/**
 * A delegation grant (`typ` writ-grant+jwt): `sub` delegated `authorization_details` to the agent in `may_act`, through
 * the actors in `act` (outermost = the agent that delegated last). `parent` is the grant it was narrowed from.
 */
export interface GrantClaims {
  iss: string
  /** Always Writ's own issuer: a grant is only ever redeemed at Writ's token endpoint. */
  aud: string
  sub: string
  may_act: { sub: string }
  act?: ActorClaim
  authorization_details: WritAction[]
  task: TaskClaim
  iat: number
  exp: number
  jti: string
  parent?: string
  /** RFC 9449: the grant is usable only with a DPoP proof by this key (set when its `may_act` agent proved one). */
  cnf?: { jkt: string }
}

/** RFC 8414 metadata fields Writ publishes. */
export interface AuthorizationServerMetadata {
  issuer: string
  token_endpoint: string
  jwks_uri: string
  grant_types_supported: string[]
  token_endpoint_auth_methods_supported: string[]
  token_endpoint_auth_signing_alg_values_supported: string[]
  authorization_details_types_supported: string[]
  [key: string]: unknown
}

/** The body of `POST /ssh/certificates` (201): an OpenSSH user certificate for the key the agent sent (docs/hosts.md). */
export interface IssuedSshCertificate {
  /** One line, as an OpenSSH `-cert.pub` file holds it. */
  certificate: string
  /** uint64, as a decimal string. */
  serial: string
  key_id: string
  principals: string[]
  /** Seconds since the epoch. */
  valid_after: number
  valid_before: number
}
