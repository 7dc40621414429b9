/** Finds the verification key for a `kid` in a static JWK set or a remote JWKS, caching imported KeyObjects per kid. */
import type { JsonWebKey, KeyObject } from 'node:crypto'
import { createRemoteJWKSet } from 'jose'
import { WritError } from '../errors/writ-error.js'
import { importVerificationKey, keyTypeForAlgorithm, keyTypeOf, type VerificationKeyType } from './signature.js'

export interface ResolvedKey {
  key: KeyObject
  keyType: VerificationKeyType
}

export interface KeyResolver {
  /** Synchronous when the key is cached; a promise only when the remote set must be (re)fetched. */
  lookup(kid: string): ResolvedKey | Promise<ResolvedKey>
}

type Slot = ResolvedKey | { unusable: string }

export const JWKS_COOLDOWN_MS = 30_000
export const JWKS_TIMEOUT_MS = 5_000
export const JWKS_FAILURE_BACKOFF_MS = 5_000

export function createStaticKeyResolver(keys: readonly JsonWebKey[]): KeyResolver {
  const slots = buildSlots(keys)
  return {
    lookup(kid) {
      return resolve(slots.get(kid))
    },
  }
}

/**
 * A remote JWKS behind jose's fetcher. An unknown `kid` refetches only when the last fetch is older than the
 * cooldown, so a flood of made-up kids costs at most one request per 30 s (docs/threats.md JWT-10, DOS-04).
 */
export function createRemoteKeyResolver(url: URL): KeyResolver {
  const remote = createRemoteJWKSet(url, { cooldownDuration: JWKS_COOLDOWN_MS, timeoutDuration: JWKS_TIMEOUT_MS })
  let slots = new Map<string, Slot>()
  let pending: Promise<void> | undefined
  let failedAt = Number.NEGATIVE_INFINITY

  function refresh(): Promise<void> {
    // DOS-04: after a failed fetch, answer from the failure for a while instead of hammering a struggling server.
    // A monotonic timer: the backoff is an interval, not a date, and must not move with the wall clock.
    if (performance.now() - failedAt < JWKS_FAILURE_BACKOFF_MS) return Promise.reject(unavailable(undefined))
    // INVARIANT: one refresh in flight at a time, and the slot table is rebuilt once per fetch, not once per caller.
    pending ??= remote
      .reload()
      .then(
        () => {
          slots = buildSlots(remote.jwks()?.keys ?? [])
        },
        (cause: unknown) => {
          failedAt = performance.now()
          throw unavailable(cause)
        },
      )
      .finally(() => {
        pending = undefined
      })
    return pending
  }

  async function lookupAfterRefresh(kid: string): Promise<ResolvedKey> {
    await refresh()
    return resolve(slots.get(kid))
  }

  return {
    lookup(kid) {
      if (remote.fresh) {
        const slot = slots.get(kid)
        if (slot !== undefined || remote.coolingDown) return resolve(slot)
      }
      return lookupAfterRefresh(kid)
    },
  }
}

function unavailable(cause: unknown): WritError {
  return new WritError('JWKS_UNAVAILABLE', 'the key set could not be fetched', { reasons: ['jwks_unavailable'], cause })
}

function resolve(slot: Slot | undefined): ResolvedKey {
  if (slot === undefined) throw new WritError('KEY_NOT_FOUND', 'no key matches the token kid', { reasons: ['kid_unknown'] })
  if ('unusable' in slot) {
    throw new WritError('KEY_NOT_FOUND', 'the key named by the token kid is not usable', { reasons: [slot.unusable] })
  }
  return slot
}

function buildSlots(keys: readonly unknown[]): Map<string, Slot> {
  const slots = new Map<string, Slot>()
  for (const jwk of keys) {
    if (jwk === null || typeof jwk !== 'object') continue
    const kid = (jwk as { kid?: unknown }).kid
    // A key without a kid can never be chosen: Writ requires `kid` in every token header.
    if (typeof kid !== 'string' || kid.length === 0) continue
    // Two keys under one kid make the choice ambiguous; refuse both rather than guess.
    slots.set(kid, slots.has(kid) ? { unusable: 'kid_ambiguous' } : importSlot(jwk as JsonWebKey))
  }
  return slots
}

function importSlot(jwk: JsonWebKey): Slot {
  try {
    const key = importVerificationKey(jwk)
    const keyType = keyTypeOf(key)
    if (keyType === undefined) return { unusable: 'key_type_unsupported' }
    // RFC 7517 §4.4: a JWK that names its `alg` is only for that algorithm; the token's `alg` is then checked
    // against `keyType`, so a key tagged for another key type is never usable.
    if (jwk.alg !== undefined && (typeof jwk.alg !== 'string' || keyTypeForAlgorithm(jwk.alg) !== keyType)) {
      return { unusable: 'key_alg_mismatch' }
    }
    return { key, keyType }
  } catch (error) {
    return { unusable: error instanceof WritError && error.reasons[0] !== undefined ? error.reasons[0] : 'key_malformed' }
  }
}
