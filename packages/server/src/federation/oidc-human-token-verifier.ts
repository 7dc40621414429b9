/**
 * OidcHumanTokenVerifier: the HumanTokenVerifier port for `trust.humanIssuers`. A human's ID token, JWT access token
 * or Identity Assertion JWT Authorization Grant (draft-ietf-oauth-identity-assertion-authz-grant) is verified through
 * its issuer's discovery document and JWKS, with the same verifier as workload tokens.
 */
import { ID_JAG_TYP } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { HumanIdentity, HumanTokenVerifier } from '../delegation/human-token-verifier.js'
import { invalidExternalToken, peekIssuer, verifyExternalToken } from './external-token-verifier.js'
import type { TrustProviders } from './trust-providers.js'

export interface OidcHumanTokenVerifierDeps {
  trust: TrustProviders
  clock: Clock
  /** Writ's issuer identifier: the only `aud` an ID-JAG may carry. */
  issuer: string
  leewaySeconds: number
}

// Which `typ` each kind admits (lowercase, `application/` removed; null = no typ). An ID-JAG must say what it is, and
// nothing else may say so: an ID token or access token is never accepted as an ID-JAG, nor the reverse.
const TYPS: Record<'id_token' | 'jwt' | 'id-jag', readonly (string | null)[]> = {
  id_token: [null, 'jwt'],
  jwt: [null, 'jwt', 'at+jwt'],
  'id-jag': [ID_JAG_TYP],
}

export class OidcHumanTokenVerifier implements HumanTokenVerifier {
  constructor(private readonly deps: OidcHumanTokenVerifierDeps) {}

  async verify(token: string, kind: 'id_token' | 'jwt' | 'id-jag', clientId: string): Promise<HumanIdentity> {
    const human = this.deps.trust.humanIssuer(peekIssuer(token))
    if (!human) throw invalidExternalToken('human_issuer_untrusted')
    const { claims } = await verifyExternalToken(token, {
      keys: human.keys,
      // untrusted: an ID-JAG is addressed to Writ itself; other human tokens to the audience configured for the issuer.
      audience: kind === 'id-jag' ? this.deps.issuer : human.audience,
      algorithms: human.algorithms, maxLifetimeSeconds: human.maxLifetimeSeconds, leewaySeconds: this.deps.leewaySeconds,
      typs: TYPS[kind], requireJti: kind === 'id-jag',
    }, this.deps.clock)
    // The ID-JAG names the one client it was issued to; another agent holding it gets nothing.
    if (kind === 'id-jag' && claims.client_id !== clientId) throw invalidExternalToken('id_jag_client_id_mismatch')
    const user = claims[human.userClaim]
    if (typeof user !== 'string' || user.length === 0 || user.length > 256) throw invalidExternalToken('human_user_claim_missing')
    const groups = human.groupsClaim === undefined ? [] : claims[human.groupsClaim]
    if (groups !== undefined && !(Array.isArray(groups) && groups.length <= 256 && groups.every((g) => typeof g === 'string' && g.length <= 256))) {
      throw invalidExternalToken('human_groups_claim_invalid')
    }
    const jti = typeof claims.jti === 'string' ? claims.jti.slice(0, 256) : undefined
    return { issuer: human.issuer, user, groups: (groups as string[] | undefined) ?? [], ...(jti ? { jti } : {}) }
  }
}
