/**
 * RFC 7009 token revocation at `POST /oauth/revoke`: an agent revokes its own capability tokens (`client_id`) and the
 * grants it may use (`may_act`); a resource server the capability tokens issued for its audience. Anything else, and a
 * token Writ cannot read, is answered like a success (RFC 7009 §2.2: the caller learns nothing) and audited as a
 * refusal. Allowed revocations go through the revocation service: one audit record, events to every verifier.
 */
import { WritError } from '@writ/sdk'
import type { AuditEvent } from '../audit/audit-record.js'
import type { OwnSignatureCheck } from '../keys/own-signature.js'
import type { RevocationActor } from '../revocation/revocation.js'
import type { Revocations } from '../revocation/revocations.js'
import { authenticateCaller, type ClientAuthenticationInput } from './client-authentication.js'
import { commitOrThrow } from './issue-token.js'
import { auditAuthenticationFailure, type MintDeps } from './mint.js'
import { readPresentedToken } from './presented-token.js'

export interface RevokeTokenDeps {
  mint: Pick<MintDeps, 'auth' | 'log' | 'rateLimits' | 'clock'>
  signature: OwnSignatureCheck
  issuer: string
  revocations: Pick<Revocations, 'revoke'>
}

export async function revokeToken(client: ClientAuthenticationInput, form: Map<string, string>, deps: RevokeTokenDeps): Promise<void> {
  const caller = await authenticate(client, deps)
  // The assertion is spent with every outcome, so one assertion revokes (or probes) once.
  const refuse = async (reason: string, jti?: string): Promise<void> => {
    await commitOrThrow(deps.mint.log, { assertion: caller.assertion, audit: refusal(caller.actor, reason, jti) })
  }
  const token = form.get('token')
  try {
    checkHint(form.get('token_type_hint'))
  } catch (error) {
    await refuse('token_type_hint_invalid')
    throw error
  }
  if (token === undefined || token.length === 0) {
    await refuse('token_missing')
    throw new WritError('REQUEST_INVALID', 'the token parameter is required')
  }
  const presented = await readPresentedToken(token, deps)
  if (presented.kind === 'unknown') return refuse(presented.reason)
  const jti = presented.claims.jti
  if (presented.claims.exp <= deps.mint.clock.nowSeconds()) return refuse('token_expired', jti)
  const allowed = presented.kind === 'capability'
    ? caller.actor.kind === 'agent' ? presented.claims.client_id === caller.actor.id : audienceOf(presented.claims.aud) === caller.audience
    : caller.actor.kind === 'agent' && presented.claims.may_act?.sub === caller.actor.id
  if (!allowed) return refuse(caller.actor.kind === 'agent' ? 'not_own_token' : 'not_own_audience', jti)

  await commitOrThrow(deps.mint.log, { assertion: caller.assertion })
  const reason = `revoked by its ${caller.actor.kind === 'agent' ? 'agent' : 'resource server'} through /oauth/revoke (RFC 7009)`
  try {
    await deps.revocations.revoke(presented.kind === 'grant' ? { kind: 'grant', jti } : { kind: 'token', jti }, caller.actor, reason)
  } catch (error) {
    // Already revoked is success (RFC 7009 §2.2); anything else is a real failure and answered as one.
    if (!(error instanceof WritError && error.code === 'GRANT_REVOKED')) throw error
  }
}

interface Caller {
  actor: RevocationActor
  assertion: { clientId: string; jti: string; expiresAtMs: number; reusable?: boolean }
  /** A resource server's registered audience. */
  audience?: string
}

/** The same client authentication as the token endpoint, failures audited the same way; either kind of client. */
export async function authenticate(client: ClientAuthenticationInput, deps: { mint: Pick<MintDeps, 'auth' | 'log' | 'rateLimits'> }): Promise<Caller> {
  let caller: Awaited<ReturnType<typeof authenticateCaller>>
  try {
    caller = await authenticateCaller(client, deps.mint.auth)
  } catch (error) {
    throw await auditAuthenticationFailure(error, deps.mint)
  }
  if ('cached' in caller) {
    const { agent } = caller.cached
    deps.mint.rateLimits.admitAgent(agent.id)
    const spent = caller.assertion
    return {
      actor: { kind: 'agent', id: agent.id },
      assertion: spent
        ? { clientId: spent.replayScope ?? agent.id, jti: spent.jti, expiresAtMs: spent.expiresAtMs }
        : { clientId: agent.id, jti: '', expiresAtMs: 0, reusable: true },
    }
  }
  const { server } = caller.resourceServer
  deps.mint.rateLimits.admitAgent(server.id)
  return { actor: { kind: 'resource_server', id: server.id }, assertion: { clientId: server.id, ...caller.assertion }, audience: server.audience }
}

/** RFC 7009 §2.1: an unknown hint is ignored; a hint that is not a short printable word is a malformed request. */
export function checkHint(hint: string | undefined): void {
  if (hint !== undefined && (hint.length > 128 || !/^[\x21-\x7e]*$/.test(hint))) {
    throw new WritError('REQUEST_INVALID', 'token_type_hint is malformed', { reasons: ['token_type_hint_invalid'] })
  }
}

export function audienceOf(aud: unknown): string | undefined {
  return typeof aud === 'string' ? aud : Array.isArray(aud) && aud.length === 1 && typeof aud[0] === 'string' ? aud[0] : undefined
}

function refusal(actor: RevocationActor, reason: string, jti: string | undefined): AuditEvent {
  return {
    type: 'revocation.deny',
    actor: { kind: actor.kind, id: actor.id },
    decision: { effect: 'deny', reasons: [reason] },
    ...(jti !== undefined ? { data: { jti, endpoint: 'oauth/revoke' } } : { data: { endpoint: 'oauth/revoke' } }),
  }
}
