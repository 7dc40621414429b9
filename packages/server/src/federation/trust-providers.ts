/** TrustProviders: the configured outside issuers (workload providers and human issuers), each with its cached keys. */
import type { Clock } from '../clock.js'
import type { HumanIssuerSettings, TrustProviderSettings } from '../config/schema.js'
import { IssuerKeys } from './issuer-keys.js'

export interface TrustProvider extends TrustProviderSettings {
  keys: IssuerKeys
}

export interface HumanIssuer extends HumanIssuerSettings {
  keys: IssuerKeys
}

export interface TrustSettings {
  providers: readonly TrustProviderSettings[]
  humanIssuers: readonly HumanIssuerSettings[]
  fetchTimeoutMs: number
}

export class TrustProviders {
  private readonly providersByIssuer = new Map<string, TrustProvider>()
  private readonly humansByIssuer = new Map<string, HumanIssuer>()

  constructor(settings: TrustSettings, clock: Clock) {
    // One cache per issuer URL, shared when a workload provider is also a human issuer.
    const keys = new Map<string, IssuerKeys>()
    const keysOf = (issuer: string) => {
      let found = keys.get(issuer)
      if (!found) keys.set(issuer, found = new IssuerKeys(issuer, { clock, timeoutMs: settings.fetchTimeoutMs }))
      return found
    }
    for (const provider of settings.providers) this.providersByIssuer.set(provider.issuer, { ...provider, keys: keysOf(provider.issuer) })
    for (const human of settings.humanIssuers) this.humansByIssuer.set(human.issuer, { ...human, keys: keysOf(human.issuer) })
  }

  /** Exact match on the issuer identifier: no normalisation, so `https://a/` and `https://a` are two issuers. */
  provider(issuer: string | undefined): TrustProvider | undefined {
    return issuer === undefined ? undefined : this.providersByIssuer.get(issuer)
  }

  humanIssuer(issuer: string | undefined): HumanIssuer | undefined {
    return issuer === undefined ? undefined : this.humansByIssuer.get(issuer)
  }

  get hasProviders(): boolean {
    return this.providersByIssuer.size > 0
  }

  providers(): TrustProvider[] {
    return [...this.providersByIssuer.values()]
  }

  humanIssuers(): HumanIssuer[] {
    return [...this.humansByIssuer.values()]
  }
}
