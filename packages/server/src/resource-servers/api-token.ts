/**
 * Writ's own API access token: `client_credentials` with `scope=writ:revocations` from an authenticated resource
 * server. An `at+jwt` whose `aud` is Writ's issuer and that carries no `authorization_details`, so no capability
 * verifier ever accepts it (no resource server may have the issuer as its audience). Audited through the group commit
 * before it leaves, like every token of the endpoint.
 */
import { TOKEN_TYPES, WritError } from '@writ/sdk'
import type { AuditEvent } from '../audit/audit-record.js'
import { authenticateCaller, type ClientAuthenticationInput } from '../tokens/client-authentication.js'
import { checkDpopHeader } from '../tokens/dpop-proof-check.js'
import { commitOrThrow, type Assertion } from '../tokens/issue-token.js'
import { auditAuthenticationFailure, type MintDeps } from '../tokens/mint.js'
import { timeOrderedId } from '../tokens/token-id.js'

/** The scopes of Writ's own API; capabilities are asked for with `authorization_details`, never with a scope. */
export const API_SCOPES = ['writ:revocations'] as const
export type ApiScope = (typeof API_SCOPES)[number]

export interface ApiTokenClaims {
  iss: string
  sub: string
  client_id: string
  aud: string
  scope: string
  jti: string
  iat: number
  exp: number
  cnf?: { jkt: string }
}

export async function issueApiToken(
  client: ClientAuthenticationInput & { dpop?: string }, form: Map<string, string>, deps: MintDeps,
): Promise<{ token: string; claims: ApiTokenClaims }> {
  const proof = checkDpopHeader(client.dpop, deps.dpop)
  let caller: Awaited<ReturnType<typeof authenticateCaller>>
  try {
    caller = await authenticateCaller(client, deps.auth)
  } catch (error) {
    throw await auditAuthenticationFailure(error, deps)
  }
  if ('cached' in caller) {
    // An agent authenticated fine but asked for what only resource servers get: its assertion is spent with the refusal.
    const { agent } = caller.cached
    const spent = caller.assertion
    const assertion: Assertion = spent
      ? { clientId: spent.replayScope ?? agent.id, jti: spent.jti, expiresAtMs: spent.expiresAtMs }
      : { clientId: agent.id, jti: '', expiresAtMs: 0, reusable: true }
    await commitOrThrow(deps.log, { assertion, audit: refusal({ kind: 'agent', id: agent.id }, 'scope_not_allowed') })
    throw new WritError('SCOPE_INVALID', 'agents ask for capabilities with authorization_details; Writ\'s API scopes are for resource servers', { reasons: ['scope_not_allowed'] })
  }
  const { server } = caller.resourceServer
  const actor = { kind: 'resource_server' as const, id: server.id }
  // DOS-01: the bucket keyed on the verified identity, as for agents.
  deps.rateLimits.admitAgent(server.id)
  const assertion: Assertion = { clientId: server.id, ...caller.assertion }
  const refuse = async (error: WritError): Promise<never> => {
    await commitOrThrow(deps.log, { assertion, audit: refusal(actor, error.reasons[0] ?? 'request_invalid') })
    throw error
  }

  if (form.has('authorization_details')) {
    await refuse(new WritError('CLIENT_UNAUTHORIZED', 'a resource server may only ask for Writ\'s API scope (writ:revocations)', { reasons: ['client_not_agent'] }))
  }
  const scope = parseScope(form.get('scope'))
  if (!scope) await refuse(new WritError('SCOPE_INVALID', `the scope must be one or more of: ${API_SCOPES.join(' ')}`, { reasons: ['scope_unknown'] }))
  const outcome = proof === undefined ? undefined : await proof
  if (outcome !== undefined && 'error' in outcome) await refuse(outcome.error)
  if (outcome === undefined && deps.dpop.requireAll) {
    await refuse(new WritError('DPOP_PROOF_INVALID', 'every client must send a DPoP proof', { reasons: ['dpop_proof_required'] }))
  }
  const binding = outcome !== undefined && 'binding' in outcome ? outcome.binding : undefined

  const nowMs = deps.clock.nowMs()
  const iat = Math.floor(nowMs / 1000)
  const claims: ApiTokenClaims = {
    iss: deps.issuer, sub: server.id, client_id: server.id, aud: deps.issuer, scope: scope as string,
    jti: timeOrderedId(nowMs), iat, exp: iat + deps.ttlSeconds,
    // RFC 9449 §6: a proof at the token endpoint binds the token to its key.
    ...(binding ? { cnf: { jkt: binding.jkt } } : {}),
  }
  const { jws, kid } = deps.keys.sign(TOKEN_TYPES.capability, claims as unknown as Record<string, unknown>)
  const [token] = await Promise.all([jws, commitOrThrow(deps.log, {
    assertion: binding ? { ...assertion, dpop: binding } : assertion,
    audit: {
      type: 'token.issue',
      actor,
      decision: { effect: 'allow', reasons: ['resource_server_api_scope'] },
      token: { jti: claims.jti, exp: claims.exp },
      data: { scope: claims.scope, aud: claims.aud, kid, ...(binding ? { cnf_jkt: binding.jkt } : {}) },
    },
  })])
  return { token, claims }
}

/** A space-separated list (RFC 6749 §3.3) of known scopes, each once; anything else is undefined. */
function parseScope(value: string | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.length > 256) return undefined
  const scopes = value.split(' ')
  const known = new Set<string>(API_SCOPES)
  if (!scopes.every((s) => known.has(s)) || new Set(scopes).size !== scopes.length) return undefined
  return scopes.join(' ')
}

function refusal(actor: AuditEvent['actor'], reason: string): AuditEvent {
  return { type: 'token.deny', actor, decision: { effect: 'deny', reasons: [reason] }, data: { requested: 'api_scope' } }
}
