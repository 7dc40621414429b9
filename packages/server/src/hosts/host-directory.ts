/**
 * HostDirectory: every host in memory, by id and by name, for the token endpoint (Cedar's `Writ::Host`, the audience
 * rules) and the SSH endpoints. Refreshed on every change made through this process and on an interval, so replicas
 * sharing PostgreSQL see a change made through another one within that interval (as the resource-server cache).
 */
import type { Logger } from '../logger.js'
import type { HostRepository } from '../storage/host-repository.js'
import type { Host } from './host.js'

interface Snapshot {
  byId: Map<string, Host>
  byName: Map<string, Host>
}

export class HostDirectory {
  private snapshot: Snapshot = { byId: new Map(), byName: new Map() }
  private timer: NodeJS.Timeout | undefined
  private loading: Promise<void> | undefined

  constructor(private readonly repository: Pick<HostRepository, 'list'>) {}

  refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => { this.loading = undefined })
    return this.loading
  }

  start(intervalMs: number, logger: Logger): void {
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => logger.warn('host refresh failed; the previous list stays in force', { error: String(error) }))
    }, intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** The host with this id (its client id), removed ones included: callers check `status`. */
  byId(id: string): Host | undefined {
    return this.snapshot.byId.get(id)
  }

  /** The host with this name, removed ones included: callers check `status`. */
  byName(name: string): Host | undefined {
    return this.snapshot.byName.get(name)
  }

  /** Names of removed hosts (never reused): the SSH KRL names their certificates (ssh/ssh-revocation-list.ts). */
  removedNames(): string[] {
    return [...this.snapshot.byName.values()].filter((h) => h.status === 'removed').map((h) => h.name)
  }

  /** The active host of this name, or undefined. */
  active(name: string): Host | undefined {
    const host = this.snapshot.byName.get(name)
    return host?.status === 'active' ? host : undefined
  }

  private async load(): Promise<void> {
    const hosts = await this.repository.list()
    const next: Snapshot = { byId: new Map(), byName: new Map() }
    for (const host of hosts) {
      next.byId.set(host.id, host)
      next.byName.set(host.name, host)
    }
    this.snapshot = next
  }
}
