/** The audiences a capability token may carry: registered resource servers first, the configured list as a fallback. */
import type { ResourceServerCache } from './resource-server-cache.js'

export interface Audiences {
  /** The audience of a request that names no `resource` (`tokens.audience`). */
  readonly fallback: string
  /** True when `audience` is an active resource server's or one of the configured ones (exact match). */
  accepts(audience: string): boolean
  /** The registered resource server's name, when `audience` belongs to one (what policy sees as `resource_server`). */
  resourceServerName(audience: string): string | undefined
}

export function audiences(configured: readonly string[], registered: Pick<ResourceServerCache, 'byAudience'>): Audiences {
  const fallback = configured[0]
  if (fallback === undefined) throw new TypeError('at least one configured audience (tokens.audience) is required')
  const listed = new Set(configured)
  return {
    fallback,
    accepts: (audience) => registered.byAudience(audience) !== undefined || listed.has(audience),
    resourceServerName: (audience) => registered.byAudience(audience)?.server.name,
  }
}
