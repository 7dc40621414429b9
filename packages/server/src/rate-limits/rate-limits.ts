/**
 * The token endpoint's rate limits (DOS-01/02): a bucket per client address, taken before the request is read, and a
 * bucket per authenticated agent, taken once its assertion has verified. Refusals answer 429 RATE_LIMITED with
 * Retry-After and are audited as one summary per interval, never one record per refused request.
 */
import { WritError } from '@writ/sdk'
import type { AuditEvent } from '../audit/audit-record.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import { addressKey } from './address-key.js'
import { RefusalCounts } from './refusal-counts.js'
import { TokenBuckets } from './token-buckets.js'

export type RateLimitSettings = Config['rateLimits']

export interface RateLimitDeps {
  clock: Clock
  /** Appends one audit record in a transaction of the audit chain; rejects if it was not committed. */
  audit: (event: AuditEvent) => Promise<void>
}

export class RateLimits {
  private readonly perAgent: TokenBuckets | undefined
  private readonly perAddress: TokenBuckets | undefined
  private readonly refusals: RefusalCounts

  constructor(settings: RateLimitSettings, private readonly deps: RateLimitDeps) {
    const buckets = (s: RateLimitSettings['perAgent']) => s.enabled && s.ratePerSecond > 0
      ? new TokenBuckets(s.ratePerSecond, s.burst, settings.maxTrackedKeys) : undefined
    this.perAgent = buckets(settings.perAgent)
    this.perAddress = buckets(settings.perAddress)
    this.refusals = new RefusalCounts(deps.clock.nowMs(), settings.maxTrackedKeys)
  }

  /**
   * Before the body is read, parsed or any signature checked: the cheapest point at which a flood from one address
   * can be stopped, so that it costs neither crypto nor an audit record per request.
   */
  admitAddress(address: string | undefined): void {
    if (!this.perAddress) return
    const key = addressKey(address)
    const waitMs = this.perAddress.take(key, this.deps.clock.nowMs())
    if (waitMs === 0) return
    this.refusals.address(key)
    throw refusal('too many token requests from this address', 'address_rate_limited', waitMs)
  }

  /**
   * Only once the client assertion has verified: keyed on a claimed `client_id` or `iss`, anyone could drain an
   * agent's bucket and starve it by naming it. A refusal here spends nothing (no commit): the assertion stays unused.
   */
  admitAgent(agentId: string): void {
    if (!this.perAgent) return
    const waitMs = this.perAgent.take(agentId, this.deps.clock.nowMs())
    if (waitMs === 0) return
    this.refusals.agent(agentId)
    throw refusal(`agent \`${agentId}\` is over its token rate limit`, 'agent_rate_limited', waitMs)
  }

  /** Drops full buckets (they hold no state); called on the app's prune timer, never per request. */
  prune(): void {
    const now = this.deps.clock.nowMs()
    this.perAgent?.prune(now)
    this.perAddress?.prune(now)
  }

  /** Writes the `rate_limit.refused` summary of the refusals since the last one, if there were any. */
  async flush(): Promise<void> {
    const taken = this.refusals.take(this.deps.clock.nowMs())
    if (!taken) return
    try {
      await this.deps.audit(taken.event)
    } catch (error) {
      // Not lost: the counts go into the next summary.
      this.refusals.restore(taken.window)
      throw error
    }
  }

  /** Buckets held, for tests and diagnostics. */
  get trackedKeys(): { agents: number; addresses: number } {
    return { agents: this.perAgent?.size ?? 0, addresses: this.perAddress?.size ?? 0 }
  }
}

function refusal(detail: string, reason: string, waitMs: number): WritError {
  // RFC 9110 §10.2.3: Retry-After in whole seconds, rounded up so that a client that waits that long gets its token.
  const seconds = Math.max(1, Math.ceil(waitMs / 1000))
  return new WritError('RATE_LIMITED', `${detail}; retry after ${seconds} s`, { reasons: [reason], extra: { retry_after: seconds } })
}
