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

interface Entry {
  value: CachedAgent | undefined
  loadedAt: number
}

export class AgentCache {
  private readonly entries = new Map<string, Entry>()
  private readonly byName = new Map<string, Entry>()

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

  /**
   * The agent registered under `name`, for agents that name themselves by name. Staleness after a rename is as safe as
   * above: a rename bumps the version, so a token minted from a stale entry is refused by the issuing transaction.
   */
  async getByName(name: string): Promise<CachedAgent | undefined> {
    const now = this.clock.nowMs()
    const hit = this.byName.get(name)
    if (hit && now - hit.loadedAt < TTL_MS) return hit.value
    const agent = await this.agents.findByName(name)
    const value = agent && { agent, keys: importKeys(agent) }
    // Bounded like the id entries: a flood of made-up names cannot grow memory without limit.
    if (this.byName.size >= MAX_ENTRIES) this.byName.clear()
    this.byName.set(name, { value, loadedAt: now })
    return value
  }

  invalidate(id: string): void {
    this.entries.delete(id)
    for (const [name, entry] of this.byName) if (entry.value?.agent.id === id) this.byName.delete(name)
  }
}

function importKeys(agent: Agent): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>()
  for (const jwk of agent.document.jwks.keys) if (jwk.kid) keys.set(jwk.kid, importVerificationKey(jwk))
  return keys
}
