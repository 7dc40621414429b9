/**
 * issueGrant(): signs a delegation grant and makes it durable at the token endpoint, in the group commit with its
 * `delegation.create` record: the row, the spent assertion, the acting agent's status, and the liveness of the chain
 * it derives from, in one transaction. The JWT leaves only once both the signature and the commit are done.
 */
import type { GrantClaims } from '@writ/sdk'
import type { AuditEvent } from '../audit/audit-record.js'
import type { KeyManager } from '../keys/key-manager.js'
import type { IssuanceEntry, IssuanceLog } from '../tokens/issuance-log.js'
import { commitOrThrow } from '../tokens/issue-token.js'
import type { Grant } from './grant.js'
import { signGrant } from './sign-grant.js'

export interface IssueGrantDeps {
  keys: KeyManager
  log: IssuanceLog
  issuer: string
}

export interface IssuedGrant {
  token: string
  claims: GrantClaims
}

export async function issueGrant(
  grant: Grant, entry: Omit<IssuanceEntry, 'grant' | 'audit' | 'token' | 'hold'>, audit: Omit<AuditEvent, 'token'>, deps: IssueGrantDeps,
): Promise<IssuedGrant> {
  // TX-13: a proof sent by the agent the grant is for binds the grant to its key. A grant for another agent (a
  // sub-agent) cannot be bound by the delegator's proof: the sub-agent could never present it.
  const dpop = entry.assertion?.dpop
  const bound = dpop !== undefined && entry.agent?.id === grant.mayAct ? { ...grant, cnf: { jkt: dpop.jkt } } : grant
  const signing = signGrant(bound, deps.keys, deps.issuer)
  const [token] = await Promise.all([signing.jws, commitOrThrow(deps.log, {
    ...entry,
    grant,
    audit: {
      ...audit, token: { jti: grant.jti, exp: signing.claims.exp },
      data: { ...audit.data, kid: signing.kid, ...(bound.cnf ? { cnf_jkt: bound.cnf.jkt } : {}) },
    },
  })])
  return { token, claims: signing.claims }
}
