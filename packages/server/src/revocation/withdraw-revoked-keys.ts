/**
 * withdrawRevokedKeys(): applies `key` revocation events to this replica's KeyManager, so a key revoked through any
 * replica leaves every replica's JWKS and never signs here again (the replica that took the request did it already;
 * for it this is a no-op).
 */
import type { KeyManager } from '../keys/key-manager.js'
import type { Logger } from '../logger.js'
import type { StoredRevocationEvent } from './revocation.js'

export async function withdrawRevokedKeys(keys: KeyManager, events: readonly StoredRevocationEvent[], logger: Logger): Promise<void> {
  for (const { event } of events) {
    if (event.kind !== 'key' || event.kid === undefined) continue
    const key = keys.list().find((k) => k.kid === event.kid)
    if (key === undefined || key.revokedAt !== null) continue
    try {
      if (keys.current().kid === event.kid) await keys.rotate()
      keys.revoke(event.kid)
      logger.warn('a signing key revoked through another replica was withdrawn here', { kid: event.kid })
    } catch (error) {
      logger.error('a revoked signing key could not be withdrawn', { kid: event.kid, error: String(error) })
    }
  }
}
