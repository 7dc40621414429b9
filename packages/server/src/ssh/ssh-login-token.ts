/**
 * verifySshLoginToken(): the check of a capability token presented at `POST /ssh/certificates`. It is Writ's own token
 * coming back, so it is checked against Writ's published keys (as introspection does), with the profile's claim rules,
 * the revocation state of this replica (all five kinds), and its DPoP binding; then it must be an `ssh.login` on
 * `host:<name>` for exactly `urn:writ:host:<name>`, with principals that policy wrote into it at mint.
 */
import {
  LIFETIMES, SIGNING_ALGORITHMS, SIZE_LIMITS, TOKEN_TYPES, WritError, accessTokenHash, checkCapabilityClaims, checkDpopClaims,
  createCompactJwsParser, createDpopProofParser, normaliseHtu, proofInvalid, verifyWithKeyType, type CapabilityClaims,
} from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { OwnSignatureCheck } from '../keys/own-signature.js'
import type { RevocationState } from '../revocation/revocation-state.js'

export const SSH_LOGIN_ACTION = 'ssh.login'
export const HOST_RESOURCE = /^host:([a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?)$/
export const hostAudience = (name: string): string => `urn:writ:host:${name}`

// What sshd and the certificate can carry: unix user names; force-command and source-address as printable text.
const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/
const SOURCE_ADDRESS = /^[0-9A-Fa-f.:/,]{1,512}$/
const MAX_PRINCIPALS = 32
/** Extensions sshd knows; a token naming another is refused rather than silently narrowed. */
export const SSH_EXTENSIONS = ['no-touch-required', 'permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc'] as const

export interface SshLoginGrant {
  claims: CapabilityClaims
  kid: string
  hostName: string
  /** Unix users, as policy decided them. */
  users: string[]
  forceCommand?: string
  sourceAddress?: string
  extensions: string[]
  /** A bound token's proof, to spend with the certificate. */
  dpop?: { jkt: string; jti: string; expiresAtMs: number }
}

export interface SshLoginTokenDeps {
  signature: OwnSignatureCheck
  revocationState: Pick<RevocationState, 'isRevoked'>
  clock: Clock
  issuer: string
  leewaySeconds: number
  dpop: { maxAgeSeconds: number; endpoints: readonly string[] }
}

export interface PresentedSshLogin {
  authorization: string | undefined
  dpopProof: string | undefined
  method: string
}

const parseToken = createCompactJwsParser({ maxBytes: SIZE_LIMITS.tokenBytes, allowedAlgorithms: SIGNING_ALGORITHMS, expectedTyp: TOKEN_TYPES.capability })
const parseProof = createDpopProofParser()

export async function verifySshLoginToken(presented: PresentedSshLogin, deps: SshLoginTokenDeps): Promise<SshLoginGrant> {
  // RFC 6750 §2.1 / RFC 9449 §7.1: one scheme, case-insensitive, one token.
  const match = presented.authorization === undefined ? null : /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i.exec(presented.authorization)
  if (match === null) throw invalid('a capability token is required (Authorization: Bearer or DPoP)', 'authorization_missing')
  const scheme = (match[1] as string).toLowerCase()
  const token = match[2] as string
  // `alg: none`, HMAC, another typ (a grant, an API token is at+jwt too: its claims fail below), oversized: all end here.
  const parsed = parseToken(token)
  const failure = await deps.signature(parsed)
  if (failure !== undefined) throw invalid('the token was not signed by this server', `token_${failure}`)
  // JWT-29: claims are read only from here on, after the signature has verified.
  const raw = parsed.claims
  const details = Array.isArray(raw.authorization_details) ? raw.authorization_details[0] as Record<string, unknown> | undefined : undefined
  const resource = typeof details?.resource === 'string' ? details.resource : ''
  const hostName = HOST_RESOURCE.exec(resource)?.[1]
  // untrusted: the audience is derived from the resource and compared with the token's `aud`, never taken from it.
  const claims = checkCapabilityClaims(raw, {
    issuer: deps.issuer, audiences: [hostAudience(hostName ?? 'invalid.')], leewaySeconds: deps.leewaySeconds, maxLifetimeSeconds: LIFETIMES.capabilityMax,
  }, deps.clock.nowSeconds())
  const action = claims.authorization_details[0]
  // SSH-10: a sudo.exec token (same audience) or any other action buys no certificate.
  if (action.action !== SSH_LOGIN_ACTION || hostName === undefined) {
    throw new WritError('TOKEN_SCOPE_MISMATCH', 'the token does not grant `ssh.login` on a host', { reasons: ['action_mismatch'] })
  }
  const kid = parsed.header.kid as string
  const dpop = await checkBinding(token, scheme, claims, presented, deps)
  if (deps.revocationState.isRevoked(claims, kid)) throw new WritError('TOKEN_REVOKED', 'the token has been revoked', { reasons: ['revoked'] })
  return { claims, kid, hostName, ...loginParameters(action.parameters), ...(dpop ? { dpop } : {}) }
}

/** The principals and options policy wrote into the token at mint; anything off-shape is refused (SSH-07). */
function loginParameters(parameters: Record<string, unknown> | undefined): Pick<SshLoginGrant, 'users' | 'forceCommand' | 'sourceAddress' | 'extensions'> {
  const p = parameters ?? {}
  const users = p.principals
  if (!Array.isArray(users) || users.length === 0 || users.length > MAX_PRINCIPALS || !users.every((u) => typeof u === 'string' && UNIX_USER.test(u))) {
    throw scope('the token names no valid principals', 'principals_invalid')
  }
  const extensions = p.extensions ?? ['permit-pty']
  if (!Array.isArray(extensions) || !extensions.every((e) => typeof e === 'string' && (SSH_EXTENSIONS as readonly string[]).includes(e))) {
    throw scope('the token names an unknown SSH extension', 'extensions_invalid')
  }
  const force = p.force_command
  if (force !== undefined && (typeof force !== 'string' || force.length === 0 || force.length > 1_024 || !/^[\x20-\x7e]+$/.test(force))) {
    throw scope('the token force_command is not valid', 'force_command_invalid')
  }
  const source = p.source_address
  if (source !== undefined && (typeof source !== 'string' || !SOURCE_ADDRESS.test(source))) throw scope('the token source_address is not valid', 'source_address_invalid')
  return {
    users: [...new Set(users as string[])], extensions: [...new Set(extensions as string[])],
    ...(force !== undefined ? { forceCommand: force as string } : {}), ...(source !== undefined ? { sourceAddress: source as string } : {}),
  }
}

/** RFC 9449 §7: a bound token is good only with a proof by its key, for this request and this token. */
async function checkBinding(
  token: string, scheme: string, claims: CapabilityClaims, presented: PresentedSshLogin, deps: SshLoginTokenDeps,
): Promise<SshLoginGrant['dpop']> {
  if (claims.cnf === undefined) {
    if (scheme === 'dpop') throw invalid('the token is not DPoP-bound', 'token_not_bound')
    return undefined
  }
  if (scheme !== 'dpop') throw invalid('a DPoP-bound token was presented as a Bearer token', 'dpop_bound_token_as_bearer')
  const proofText = presented.dpopProof
  if (proofText === undefined || proofText.length === 0) throw proofInvalid('a DPoP-bound token needs a DPoP proof', 'dpop_proof_missing')
  if (proofText.includes(',') || proofText.includes(' ')) throw proofInvalid('more than one DPoP proof was sent', 'dpop_header_repeated')
  const found = parseProof(proofText)
  const proof = found instanceof Promise ? await found : found
  if (!verifyWithKeyType(proof.key.keyType, proof.key.key, proof.signingInput, proof.signature)) {
    throw proofInvalid('the DPoP proof signature is invalid', 'dpop_signature_invalid')
  }
  const now = deps.clock.nowSeconds()
  const { jti, iat } = checkDpopClaims(proof.claims, {
    htm: presented.method, htus: deps.dpop.endpoints.map((e) => normaliseHtu(e) as string), now,
    maxAgeSeconds: deps.dpop.maxAgeSeconds, leewaySeconds: deps.leewaySeconds, ath: accessTokenHash(token),
  })
  if (proof.key.jkt !== claims.cnf.jkt) throw proofInvalid('the DPoP proof is signed by another key than the token is bound to', 'dpop_key_mismatch')
  // The proof's jti is spent with the certificate (one transaction): a replayed proof buys nothing.
  return { jkt: proof.key.jkt, jti, expiresAtMs: (Math.max(iat, now) + deps.dpop.maxAgeSeconds) * 1000 }
}

function invalid(detail: string, reason: string): WritError {
  return new WritError('TOKEN_INVALID', detail, { reasons: [reason] })
}

function scope(detail: string, reason: string): WritError {
  return new WritError('TOKEN_SCOPE_MISMATCH', detail, { reasons: [reason] })
}
