/** Counts the token requests the rate limits refused, per agent and per address, for one summary record per interval. */
import type { AuditEvent } from '../audit/audit-record.js'

// The summary names the keys refused most; the totals count every refusal.
export const SUMMARY_TOP_N = 10

export interface RefusalWindow {
  sinceMs: number
  agents: Map<string, number>
  addresses: Map<string, number>
  agentRefusals: number
  addressRefusals: number
}

export class RefusalCounts {
  private window: RefusalWindow

  // The maps are capped like the buckets: a key past the cap is still counted in the totals, only not by name.
  constructor(nowMs: number, private readonly maxKeys: number) {
    this.window = emptyWindow(nowMs)
  }

  agent(agentId: string): void {
    this.window.agentRefusals++
    count(this.window.agents, agentId, 1, this.maxKeys)
  }

  address(key: string): void {
    this.window.addressRefusals++
    count(this.window.addresses, key, 1, this.maxKeys)
  }

  /** Ends the window: its `rate_limit.refused` record, or undefined if it refused nothing (then nothing is written). */
  take(nowMs: number): { event: AuditEvent; window: RefusalWindow } | undefined {
    const window = this.window
    if (window.agentRefusals === 0 && window.addressRefusals === 0) {
      window.sinceMs = nowMs
      return undefined
    }
    this.window = emptyWindow(nowMs)
    return { event: summaryRecord(window, nowMs), window }
  }

  /** Puts back a window whose record could not be written, so its refusals are counted in the next one. */
  restore(window: RefusalWindow): void {
    const current = this.window
    current.sinceMs = Math.min(current.sinceMs, window.sinceMs)
    current.agentRefusals += window.agentRefusals
    current.addressRefusals += window.addressRefusals
    for (const [key, n] of window.agents) count(current.agents, key, n, this.maxKeys)
    for (const [key, n] of window.addresses) count(current.addresses, key, n, this.maxKeys)
  }
}

function emptyWindow(sinceMs: number): RefusalWindow {
  return { sinceMs, agents: new Map(), addresses: new Map(), agentRefusals: 0, addressRefusals: 0 }
}

function count(map: Map<string, number>, key: string, n: number, maxKeys: number): void {
  const current = map.get(key)
  if (current !== undefined) map.set(key, current + n)
  else if (map.size < maxKeys) map.set(key, n)
}

/** Counts and keys only: a refused request's assertion or body is never read into it. */
function summaryRecord(window: RefusalWindow, nowMs: number): AuditEvent {
  return {
    type: 'rate_limit.refused',
    actor: { kind: 'system', id: 'rate-limits' },
    decision: { effect: 'deny', reasons: ['rate_limited'] },
    data: {
      from: new Date(window.sinceMs).toISOString(),
      to: new Date(nowMs).toISOString(),
      refused: window.agentRefusals + window.addressRefusals,
      per_agent: { refused: window.agentRefusals, agents: window.agents.size, top: top(window.agents).map(([agent_id, refused]) => ({ agent_id, refused })) },
      per_address: { refused: window.addressRefusals, addresses: window.addresses.size, top: top(window.addresses).map(([address, refused]) => ({ address, refused })) },
    },
  }
}

function top(map: Map<string, number>): Array<[string, number]> {
  return [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, SUMMARY_TOP_N)
}
