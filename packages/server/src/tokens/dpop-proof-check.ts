/**
 * RFC 9449 at the token endpoint: checks the `DPoP` header of a token request (the SDK's proof rules, the signature on
 * the thread pool) and yields the binding the issued token carries (`cnf.jkt`) and the proof jti to spend.
 */
import { WritError, checkDpopClaims, createDpopProofParser, normaliseHtu, proofInvalid, verifyJwsSignatureAsync } from '@writ/sdk'
import type { Clock } from '../clock.js'

export interface DpopDeps {
  clock: Clock
  /** The token endpoint's URLs a proof may name (`htu`): the advertised one and the public URL's. */
  tokenEndpoints: readonly string[]
  maxAgeSeconds: number
  leewaySeconds: number
  /** `tokens.requireDpop`: every agent must present a proof, whatever its document says. */
  requireAll: boolean
}

/** A verified proof: the key the token is bound to, and its jti, spent in the issuing transaction like an assertion's. */
export interface DpopBinding {
  jkt: string
  jti: string
  /** Until when the jti must be remembered: past it, the proof's `iat` is outside the window anyway. */
  expiresAtMs: number
}

/** Settles to the binding or to the refusal, never rejects: it runs while the client assertion is checked. */
export type DpopCheck = Promise<{ binding: DpopBinding } | { error: WritError }>

const parseProof = createDpopProofParser()

export function checkDpopHeader(value: string | undefined, deps: DpopDeps): DpopCheck | undefined {
  if (value === undefined) return undefined
  return check(value, deps).then(
    (binding) => ({ binding }),
    (error: unknown) => ({ error: error instanceof WritError ? error : proofInvalid('the DPoP proof is invalid', 'dpop_proof_invalid') }),
  )
}

export function normaliseTokenEndpoints(urls: readonly string[]): string[] {
  return [...new Set(urls.map((url) => {
    const normalised = normaliseHtu(url)
    if (normalised === undefined) throw new TypeError(`not an http(s) url: ${url}`)
    return normalised
  }))]
}

async function check(value: string, deps: DpopDeps): Promise<DpopBinding> {
  // DPOP-01: exactly one proof. Node joins repeated headers with ", ", and a compact JWS has neither character.
  if (value.includes(',') || value.includes(' ')) throw proofInvalid('more than one DPoP proof was sent', 'dpop_header_repeated')
  const parsed = await parseProof(value)
  // Signature before any claim is trusted, checked by the embedded key, on the thread pool.
  if (!(await verifyJwsSignatureAsync(parsed.header.alg, parsed.key.key, parsed.signingInput, parsed.signature))) {
    throw proofInvalid('the DPoP proof signature is invalid', 'dpop_signature_invalid')
  }
  const now = deps.clock.nowSeconds()
  const { jti, iat } = checkDpopClaims(parsed.claims, {
    htm: 'POST', htus: deps.tokenEndpoints, now, maxAgeSeconds: deps.maxAgeSeconds, leewaySeconds: deps.leewaySeconds,
  })
  // A proof from the future is accepted within the leeway, so remember it until its iat has left the window.
  return { jkt: parsed.key.jkt, jti, expiresAtMs: (Math.max(iat, now) + deps.maxAgeSeconds + 1) * 1000 }
}
