/**
 * Every resource server in memory, with its imported keys: the token endpoint checks `resource` and authenticates a
 * resource server without a query. Refreshed on every change made through this process and on an interval, so replicas
 * sharing PostgreSQL see a change made through another one within that interval.
 */
import type { KeyObject } from 'node:crypto'
import { importVerificationKey } from '@writ/sdk'
import type { Logger } from '../logger.js'
import type { ResourceServerRepository } from '../storage/resource-server-repository.js'
import type { ResourceServer } from './resource-server-document.js'

export interface CachedResourceServer {
  server: ResourceServer
  keys: Map<string, KeyObject>
}

interface Snapshot {
  byId: Map<string, CachedResourceServer>
  byName: Map<string, CachedResourceServer>
  /** Active servers only: a removed server's audience is no longer issued for. */
  byAudience: Map<string, CachedResourceServer>
}

const EMPTY: Snapshot = { byId: new Map(), byName: new Map(), byAudience: new Map() }

export class ResourceServerCache {
  private snapshot: Snapshot = EMPTY
  private timer: NodeJS.Timeout | undefined
  private loading: Promise<void> | undefined

  constructor(private readonly repository: Pick<ResourceServerRepository, 'list'>) {}

  /** Reloads the whole list (resource servers are few; one query replaces the snapshot at once, never half of it). */
  refresh(): Promise<void> {
    // Concurrent callers share one load; a change that commits during it is picked up by the caller's own refresh after.
    this.loading ??= this.load().finally(() => { this.loading = undefined })
    return this.loading
  }

  /** Refreshes every `intervalMs` until stop(); a failed refresh keeps the previous snapshot and is logged. */
  start(intervalMs: number, logger: Logger): void {
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => logger.warn('resource server refresh failed; the previous list stays in force', { error: String(error) }))
    }, intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** The resource server with this id, removed ones included (the caller refuses them). */
  get(id: string): CachedResourceServer | undefined {
    return this.snapshot.byId.get(id)
  }

  getByName(name: string): CachedResourceServer | undefined {
    return this.snapshot.byName.get(name)
  }

  /** The active resource server registered for this exact audience. */
  byAudience(audience: string): CachedResourceServer | undefined {
    return this.snapshot.byAudience.get(audience)
  }

  private async load(): Promise<void> {
    const servers = await this.repository.list()
    const next: Snapshot = { byId: new Map(), byName: new Map(), byAudience: new Map() }
    for (const server of servers) {
      const cached = { server, keys: importKeys(server) }
      next.byId.set(server.id, cached)
      next.byName.set(server.name, cached)
      if (server.status === 'active') next.byAudience.set(server.audience, cached)
    }
    this.snapshot = next
  }
}

function importKeys(server: ResourceServer): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>()
  if (server.status !== 'active') return keys
  for (const jwk of server.document.jwks.keys) if (jwk.kid) keys.set(jwk.kid, importVerificationKey(jwk))
  return keys
}
