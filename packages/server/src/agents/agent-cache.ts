/** A short-lived read cache of agents and their imported keys for the token endpoint's hot path. */
import type { KeyObject } from 'node:crypto'
import { importVerificationKey } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { AgentRepository } from '../storage/agent-repository.js'
import type { Agent } from './agent-document.js'

export interface CachedAgent {
  agent: Agent
  keys: Map<string, KeyObject>
}

// Staleness is safe: the issuing transaction re-reads status and version and refuses when either moved, so a
// suspended or edited agent gets nothing even while this cache still holds the older version.
const TTL_MS = 1_000
const MAX_ENTRIES = 10_000

export class AgentCache {
  private readonly entries = new Map<string, { value: CachedAgent | undefined; loadedAt: number }>()

  constructor(private readonly agents: AgentRepository, private readonly clock: Clock) {}

  async get(id: string): Promise<CachedAgent | undefined> {
    const now = this.clock.nowMs()
    const hit = this.entries.get(id)
    if (hit && now - hit.loadedAt < TTL_MS) return hit.value
    const agent = await this.agents.find(id)
    const value = agent && { agent, keys: importKeys(agent) }
    // Bounded: an id flood (unknown agents) cannot grow memory without limit.
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear()
    this.entries.set(id, { value, loadedAt: now })
    return value
  }

  invalidate(id: string): void {
    this.entries.delete(id)
  }
}

function importKeys(agent: Agent): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>()
  for (const jwk of agent.document.jwks.keys) if (jwk.kid) keys.set(jwk.kid, importVerificationKey(jwk))
  return keys
}
