/**
 * FederatedClientAuthenticator: an agent authenticates with a token its platform issued (GitHub Actions, Kubernetes, any
 * OIDC workload issuer) instead of a key Writ holds, mapped through the `federated_identities` of its document.
 */
import { WritError } from '@writ/sdk'
import type { AgentCache } from '../agents/agent-cache.js'
import type { Clock } from '../clock.js'
import { ClientAuthenticationError, type AuthenticatedClient, type ExternalClientAuthenticator } from '../tokens/client-authentication.js'
import type { AssertionGrantAuthenticator } from '../tokens/jwt-bearer-grant.js'
import { invalidExternalToken, peekIssuer, verifyExternalToken } from './external-token-verifier.js'
import { kindShapeProblem, matchFederatedIdentity } from './federated-identity.js'
import type { TrustProviders } from './trust-providers.js'

export interface FederatedClientAuthenticatorDeps {
  providers: TrustProviders
  agents: AgentCache
  clock: Clock
  leewaySeconds: number
}

export class FederatedClientAuthenticator implements ExternalClientAuthenticator, AssertionGrantAuthenticator {
  constructor(private readonly deps: FederatedClientAuthenticatorDeps) {}

  handles(assertion: string): boolean {
    // No providers configured: no decoding at all on the private_key_jwt hot path.
    return this.deps.providers.hasProviders && this.deps.providers.provider(peekIssuer(assertion)) !== undefined
  }

  /** As client authentication: any failure is `invalid_client`, its reason kept for the audit record only. */
  async authenticate(clientId: string | undefined, assertion: string): Promise<AuthenticatedClient> {
    try {
      return await this.identify(assertion, clientId)
    } catch (error) {
      if (!(error instanceof WritError)) throw error
      if (error.code === 'TRUST_PROVIDER_UNAVAILABLE') throw new ClientAuthenticationError(error.reasons[0] ?? 'trust_provider_unavailable', clientId, { error })
      throw new ClientAuthenticationError(error.reasons[0] ?? 'external_token_invalid', clientId, { hideReasons: true })
    }
  }

  /** As an RFC 7523 authorization grant: any failure is `invalid_grant`, its reason kept for the audit record only. */
  async authenticateGrant(assertion: string, clientId: string | undefined): Promise<AuthenticatedClient> {
    try {
      return await this.identify(assertion, clientId)
    } catch (error) {
      if (!(error instanceof WritError)) throw error
      const reason = error.reasons[0] ?? 'external_token_invalid'
      if (error.code === 'TRUST_PROVIDER_UNAVAILABLE') throw new ClientAuthenticationError(reason, clientId, { error })
      throw new ClientAuthenticationError(reason, clientId, { error: new WritError('EXTERNAL_TOKEN_INVALID', 'the assertion is invalid or maps to no agent') })
    }
  }

  /**
   * Verifies the token and finds the agent it authenticates. `clientId` (id or name) chooses the agent; the token must
   * then match one of that agent's federated identities. Throws EXTERNAL_TOKEN_INVALID or TRUST_PROVIDER_UNAVAILABLE.
   */
  async identify(token: string, clientId: string | undefined): Promise<AuthenticatedClient> {
    const provider = this.deps.providers.provider(peekIssuer(token))
    if (!provider) throw invalidExternalToken('external_issuer_untrusted')
    const { claims } = await verifyExternalToken(token, {
      keys: provider.keys, audience: provider.audience, algorithms: provider.algorithms,
      maxLifetimeSeconds: provider.maxLifetimeSeconds, leewaySeconds: this.deps.leewaySeconds, requireJti: provider.singleUse,
    }, this.deps.clock)
    const shape = kindShapeProblem(provider, claims)
    if (shape) throw invalidExternalToken(shape)
    if (clientId === undefined || clientId.length === 0 || clientId.length > 128) throw invalidExternalToken('client_id_missing')
    const cached = (await this.deps.agents.get(clientId)) ?? (await this.deps.agents.getByName(clientId))
    if (!cached) throw invalidExternalToken('agent_unknown')
    // untrusted until here: the claims are verified now, and only the agent's own document decides whether they map to it.
    if (!matchFederatedIdentity(cached.agent.document, provider, claims)) throw invalidExternalToken('federated_identity_unmatched')
    const jti = typeof claims.jti === 'string' ? claims.jti : undefined
    return {
      cached,
      // Single use is scoped to the provider (not the agent), so one token cannot be spent once per agent it maps to.
      ...(provider.singleUse && jti ? { assertion: { jti, expiresAtMs: (claims.exp + this.deps.leewaySeconds) * 1000, replayScope: `federation:${provider.name}` } } : {}),
      federation: { provider: provider.name, iss: claims.iss, sub: claims.sub, ...(jti ? { jti: jti.slice(0, 256) } : {}) },
    }
  }
}
