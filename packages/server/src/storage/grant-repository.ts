/** SQL for delegation grants: insert, find, list, revoke (a conditional update), and the liveness check of a chain. */
import type { Kysely } from 'kysely'
import type { Grant, GrantKind } from '../delegation/grant.js'
import type { Database, GrantsTable } from './tables.js'

export class GrantRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(grant: Grant): Promise<void> {
    await this.db.insertInto('grants').values(grantRow(grant)).execute()
  }

  async find(jti: string): Promise<Grant | undefined> {
    const row = await this.db.selectFrom('grants').selectAll().where('jti', '=', jti).executeTakeFirst()
    return row && toGrant(row)
  }

  /** Newest first; `root` lists a mandate and everything derived from it. */
  async list(filter: { subject?: string; mayAct?: string; root?: string; kind?: GrantKind; limit: number }): Promise<Grant[]> {
    let query = this.db.selectFrom('grants').selectAll()
    if (filter.subject) query = query.where('subject', '=', filter.subject)
    if (filter.mayAct) query = query.where('may_act', '=', filter.mayAct)
    if (filter.root) query = query.where('root_jti', '=', filter.root)
    if (filter.kind) query = query.where('kind', '=', filter.kind)
    const rows = await query.orderBy('created_at', 'desc').orderBy('jti', 'desc').limit(filter.limit).execute()
    return rows.map(toGrant)
  }

  /** Unrevoked → revoked, once; false when it was already revoked or does not exist. */
  async revoke(jti: string, revokedBy: string, nowMs: number): Promise<boolean> {
    const result = await this.db.updateTable('grants').set({ revoked_at: nowMs, revoked_by: revokedBy })
      .where('jti', '=', jti).where('revoked_at', 'is', null).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  /** Every grant derived from `grant` (its subtree without itself): the same root, with it among the ancestors. */
  async descendants(grant: Pick<Grant, 'jti' | 'rootJti'>): Promise<Grant[]> {
    const rows = await this.db.selectFrom('grants').selectAll().where('root_jti', '=', grant.rootJti).where('jti', '!=', grant.jti).execute()
    return rows.map(toGrant).filter((g) => g.ancestors.includes(grant.jti))
  }

  /** Unrevoked, unexpired grants the agent holds (`may_act`) or appears in (an actor of `act`): what the kill switch ends. */
  async liveInvolving(agentId: string, nowMs: number): Promise<Grant[]> {
    // The LIKE narrows by the stored JSON; the exact test is on the parsed chain (an id may hold LIKE's `_` or `%`).
    const rows = await this.db.selectFrom('grants').selectAll().where('revoked_at', 'is', null).where('expires_at', '>', nowMs)
      .where((eb) => eb.or([eb('may_act', '=', agentId), eb('chain', 'like', `%${JSON.stringify(agentId)}%`)])).execute()
    return rows.map(toGrant).filter((g) => {
      if (g.mayAct === agentId) return true
      for (let node = g.act; node !== undefined; node = node.act) if (node.sub === agentId) return true
      return false
    })
  }

  /**
   * The jtis among `jtis` that exist and are not revoked. Read inside the issuing transaction, so a revocation that
   * committed before it refuses the token (the cascade: a chain is live only if every grant in it is).
   */
  async live(jtis: readonly string[]): Promise<Set<string>> {
    if (jtis.length === 0) return new Set()
    const rows = await this.db.selectFrom('grants').select('jti').where('jti', 'in', [...jtis]).where('revoked_at', 'is', null).execute()
    return new Set(rows.map((r) => r.jti))
  }
}

export function grantRow(grant: Grant): GrantsTable {
  return {
    jti: grant.jti,
    parent_jti: grant.parentJti,
    root_jti: grant.rootJti,
    ancestors: JSON.stringify(grant.ancestors),
    subject: grant.subject,
    human_groups: grant.human === null ? null : JSON.stringify(grant.human.groups),
    may_act: grant.mayAct,
    chain: grant.act === undefined ? null : JSON.stringify(grant.act),
    depth: grant.depth,
    details: JSON.stringify(grant.details),
    task: JSON.stringify(grant.task),
    kind: grant.kind,
    created_by: grant.createdBy,
    created_at: grant.createdAt,
    expires_at: grant.expiresAt,
    revoked_at: grant.revokedAt,
    revoked_by: grant.revokedBy,
  }
}

function toGrant(row: GrantsTable): Grant {
  return {
    jti: row.jti,
    parentJti: row.parent_jti,
    rootJti: row.root_jti,
    ancestors: JSON.parse(row.ancestors) as string[],
    subject: row.subject,
    human: row.human_groups === null ? null : { groups: JSON.parse(row.human_groups) as string[] },
    mayAct: row.may_act,
    act: row.chain === null ? undefined : JSON.parse(row.chain) as Grant['act'],
    depth: Number(row.depth),
    details: JSON.parse(row.details) as Grant['details'],
    task: JSON.parse(row.task) as Grant['task'],
    kind: row.kind as GrantKind,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    revokedBy: row.revoked_by,
  }
}
