/** The port through which a token exchange verifies a human's token; federation/ implements it for `trust.humanIssuers`. */

/** Who a verified human token names. */
export interface HumanIdentity {
  /** The trusted issuer that signed the token (exact `iss`). */
  issuer: string
  /** The user, from the issuer's configured user claim (default `sub`). */
  user: string
  /** From the issuer's configured groups claim; empty when it has none. */
  groups: string[]
  /** The external token's `jti`, when it has one (for the audit record, never the token itself). */
  jti?: string
}

export interface HumanTokenVerifier {
  /**
   * Verifies a human's ID token (`id_token`), JWT access token (`jwt`) or Identity Assertion JWT Authorization Grant
   * (`id-jag`, whose `client_id` must equal `clientId`). Throws WritError (EXTERNAL_TOKEN_INVALID or
   * TRUST_PROVIDER_UNAVAILABLE) and never returns an unverified identity.
   */
  verify(token: string, kind: 'id_token' | 'jwt' | 'id-jag', clientId: string): Promise<HumanIdentity>
}
