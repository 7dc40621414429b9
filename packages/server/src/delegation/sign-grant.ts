/** Signs a delegation grant with Writ's current key, under its own `typ`, never interchangeable with a capability. */
import { TOKEN_TYPES, type GrantClaims } from '@writ/sdk'
import type { KeyManager, SigningJws } from '../keys/key-manager.js'
import { grantClaims, type Grant } from './grant.js'

export function signGrant(grant: Grant, keys: KeyManager, issuer: string): SigningJws & { claims: GrantClaims } {
  const claims = grantClaims(grant, issuer)
  return { ...keys.sign(TOKEN_TYPES.grant, claims as unknown as Record<string, unknown>), claims }
}
