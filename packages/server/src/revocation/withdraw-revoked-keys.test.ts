import { describe, expect, it } from 'vitest'
import { fixedClock } from '../clock.js'
import { FileKeyManager } from '../keys/file-key-manager.js'
import { createLogger } from '../logger.js'
import { withdrawRevokedKeys } from './withdraw-revoked-keys.js'

const keyEvent = (eventId: number, kid: string) => ({ eventId, event: { kind: 'key' as const, iss: 'https://writ.example', kid, revoked_at: 1, forget_after: 2 } })

describe('withdrawRevokedKeys', () => {
  it('withdraws a key revoked through another replica: rotates first if it signs here, and ignores unknown or done ones', async () => {
    const clock = fixedClock(Date.UTC(2026, 0, 1))
    const keys = await FileKeyManager.open({ file: undefined, algorithm: 'EdDSA', clock })
    const revoked = keys.current().kid
    const logger = createLogger('silent', clock)
    await withdrawRevokedKeys(keys, [keyEvent(1, 'kid-of-another-replica'), keyEvent(2, revoked)], logger)
    expect(keys.current().kid).not.toBe(revoked)
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([keys.current().kid])
    const current = keys.current().kid
    await withdrawRevokedKeys(keys, [keyEvent(2, revoked)], logger)
    expect(keys.current().kid).toBe(current)
    expect(keys.list()).toHaveLength(2)
  })
})
