/** A delegation grant as Writ stores it, and the claims of the JWT that carries it (docs/delegation.md). */
import type { ActorClaim, GrantClaims, TaskClaim, WritAction } from '@writ/sdk'
import { timeOrderedId } from '../tokens/token-id.js'

export type GrantKind = 'mandate' | 'human' | 'delegation'

export interface Grant {
  jti: string
  parentJti: string | null
  rootJti: string
  /** Root first, parent last; empty at the root. Every one of them must be unrevoked for the grant to be usable. */
  ancestors: string[]
  /** The human (or, at the root of an agent-only chain, the agent) whose authority this is. */
  subject: string
  /** Present when the subject is a human: their groups, as their identity provider named them (empty for a mandate). */
  human: { groups: string[] } | null
  /** The one agent that may use the grant. */
  mayAct: string
  /** The actors so far, outermost = the agent that delegated last; undefined at the root. */
  act: ActorClaim | undefined
  /** Agents in the chain including `mayAct`: 1 at the root. */
  depth: number
  details: WritAction[]
  task: TaskClaim
  kind: GrantKind
  /** Who created it: `admin:<id>`, `human:<user>` or `agent:<id>`. */
  createdBy: string
  createdAt: number
  expiresAt: number
  revokedAt: number | null
  revokedBy: string | null
  /**
   * RFC 9449 binding, carried in the signed JWT only (not stored): the key whose DPoP proof the `may_act` agent sent
   * when the grant was issued to it. Every use of the grant must then come with a proof by that key.
   */
  cnf?: { jkt: string }
}

/** The agents of a chain, outermost first: the `act` subjects. */
export function actorsOf(act: ActorClaim | undefined): string[] {
  const actors: string[] = []
  for (let node = act; node !== undefined; node = node.act) actors.push(node.sub)
  return actors
}

/** Wraps `inner` with a new outermost actor (RFC 8693 §4.1). */
export function nestActor(sub: string, inner: ActorClaim | undefined): ActorClaim {
  return inner === undefined ? { sub } : { sub, act: inner }
}

/** A new grant's row: the parent (if any) gives its lineage; the jti is time-ordered like every token id. */
export function newGrant(input: {
  parent?: Grant; subject: string; human: Grant['human']; mayAct: string; act: ActorClaim | undefined; details: WritAction[]; task: TaskClaim
  kind: GrantKind; createdBy: string; nowMs: number; expiresAt: number
}): Grant {
  const jti = timeOrderedId(input.nowMs)
  const parent = input.parent
  return {
    jti,
    parentJti: parent?.jti ?? null,
    rootJti: parent?.rootJti ?? jti,
    ancestors: parent ? [...parent.ancestors, parent.jti] : [],
    subject: input.subject,
    human: input.human,
    mayAct: input.mayAct,
    act: input.act,
    depth: actorsOf(input.act).length + 1,
    details: input.details,
    task: input.task,
    kind: input.kind,
    createdBy: input.createdBy,
    createdAt: input.nowMs,
    expiresAt: input.expiresAt,
    revokedAt: null,
    revokedBy: null,
  }
}

export function grantClaims(grant: Grant, issuer: string): GrantClaims {
  const claims: GrantClaims = {
    iss: issuer,
    aud: issuer,
    sub: grant.subject,
    may_act: { sub: grant.mayAct },
    authorization_details: grant.details,
    task: grant.task,
    iat: Math.floor(grant.createdAt / 1000),
    exp: Math.floor(grant.expiresAt / 1000),
    jti: grant.jti,
  }
  if (grant.act !== undefined) claims.act = grant.act
  if (grant.parentJti !== null) claims.parent = grant.parentJti
  if (grant.cnf !== undefined) claims.cnf = grant.cnf
  return claims
}
