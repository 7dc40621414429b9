/** The audiences a capability token may carry: registered resource servers first, the configured list as a fallback. */
import { WritError, type WritAction } from '@writ/sdk'
import { hostAudienceOf } from '../hosts/host-actions.js'
import type { ResourceServerCache } from './resource-server-cache.js'

export interface Audiences {
  /** The audience of a request that names no `resource` (`tokens.audience`). */
  readonly fallback: string
  /** True when `audience` is an active resource server's or one of the configured ones (exact match). */
  accepts(audience: string): boolean
  /** The registered resource server's name, when `audience` belongs to one (what policy sees as `resource_server`). */
  resourceServerName(audience: string): string | undefined
  /**
   * The one place a capability request's audience is decided: the RFC 8707 `resource` it names (or the fallback), except
   * that an action on `host:<name>` is for exactly that host's audience (hosts/host-actions.ts). Throws the refusal.
   */
  forRequest(action: WritAction, requested: string | undefined): string
}

export function audiences(configured: readonly string[], registered: Pick<ResourceServerCache, 'byAudience'>): Audiences {
  const fallback = configured[0]
  if (fallback === undefined) throw new TypeError('at least one configured audience (tokens.audience) is required')
  const listed = new Set(configured)
  const accepts = (audience: string) => registered.byAudience(audience) !== undefined || listed.has(audience)
  return {
    fallback,
    accepts,
    resourceServerName: (audience) => registered.byAudience(audience)?.server.name,
    forRequest(action, requested) {
      const host = hostAudienceOf(action, requested, { accepts: (audience) => registered.byAudience(audience) !== undefined })
      if (host !== undefined) return host
      // untrusted: the requested audience must be a registered resource server's or a configured one.
      if (requested !== undefined && !accepts(requested)) {
        throw new WritError('TARGET_INVALID', 'the requested resource is not an audience this server issues for')
      }
      return requested ?? fallback
    },
  }
}
