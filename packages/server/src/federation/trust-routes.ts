/** Admin HTTP adapter of the trusted outside issuers: what `writ trust list` shows (configuration, never keys). */
import { Hono } from 'hono'
import type { AdminEnv } from '../http/admin-auth.js'
import type { TrustProviders } from './trust-providers.js'

export interface TrustView {
  providers: Array<{ name: string; issuer: string; audience: string; kind: string; single_use: boolean; max_lifetime_seconds: number; algorithms: string[] }>
  human_issuers: Array<{ issuer: string; audience: string; user_claim: string; groups_claim: string | null; max_lifetime_seconds: number; algorithms: string[] }>
}

export function trustRoutes(trust: TrustProviders): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()
  // Any admin role may read it (auditors included): it is configuration, and every member is public information.
  app.get('/trust', (c) => c.json(trustView(trust)))
  return app
}

export function trustView(trust: TrustProviders): TrustView {
  return {
    providers: trust.providers().map((p) => ({
      name: p.name, issuer: p.issuer, audience: p.audience, kind: p.kind, single_use: p.singleUse,
      max_lifetime_seconds: p.maxLifetimeSeconds, algorithms: [...p.algorithms],
    })),
    human_issuers: trust.humanIssuers().map((h) => ({
      issuer: h.issuer, audience: h.audience, user_claim: h.userClaim, groups_claim: h.groupsClaim ?? null,
      max_lifetime_seconds: h.maxLifetimeSeconds, algorithms: [...h.algorithms],
    })),
  }
}
