/** SQL for revocations and their events: append (ids after the audit append), read in id order, prune, task lookup. */
import { sql, type Kysely } from 'kysely'
import { REVOCATION_TARGET_MEMBER, type RevocationEvent, type RevocationKind } from '@writ/sdk'
import type { Revocation, RevocationActor, RevocationTargetKind, StoredRevocationEvent } from '../revocation/revocation.js'
import type { Database, RevocationEventsTable, RevocationsTable } from './tables.js'
import type { Driver } from './storage.js'

/** The PostgreSQL channel replicas LISTEN on; the payload is the last event id of a committed revocation. */
export const REVOCATION_CHANNEL = 'writ_revocations'

export class RevocationRepository {
  constructor(private readonly db: Kysely<Database>, private readonly driver: Driver) {}

  /**
   * PostgreSQL: tells every replica that events up to `lastEventId` exist. Inside the caller's transaction the
   * notification is delivered only if and when it commits. SQLite: nothing (one process; the in-process feed suffices).
   */
  async announce(lastEventId: number): Promise<void> {
    if (this.driver === 'postgres') await sql`select pg_notify(${REVOCATION_CHANNEL}, ${String(lastEventId)})`.execute(this.db)
  }

  async insert(revocation: Revocation): Promise<void> {
    await this.db.insertInto('revocations').values(revocationRow(revocation)).execute()
  }

  /**
   * Stores events with ids max+1, max+2, ... and returns them with their ids.
   * INVARIANT: runs inside the caller's transaction *after* its audit append. That append locks the audit head
   * (FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE on SQLite), so writers take ids one transaction at a time and commit in
   * id order on every replica: a reader that has seen id N and asks for `> N` never skips one committed later.
   */
  async appendEvents(revocationId: string, events: readonly RevocationEvent[]): Promise<StoredRevocationEvent[]> {
    if (events.length === 0) return []
    const last = await this.lastEventId()
    const stored = events.map((event, i) => ({ eventId: last + 1 + i, event }))
    await this.db.insertInto('revocation_events').values(stored.map(({ eventId, event }) => ({
      event_id: eventId, revocation_id: revocationId, kind: event.kind, value: event[REVOCATION_TARGET_MEMBER[event.kind]] as string,
      iss: event.iss, revoked_at: event.revoked_at * 1000, forget_after: event.forget_after * 1000,
    }))).execute()
    return stored
  }

  async lastEventId(): Promise<number> {
    const row = await this.db.selectFrom('revocation_events').select((eb) => eb.fn.max('event_id').as('last')).executeTakeFirst()
    return Number(row?.last ?? 0)
  }

  /** Events with id > `afterId` that can still matter at `nowMs`, in id order, at most `limit`. */
  async eventsAfter(afterId: number, nowMs: number, limit: number): Promise<StoredRevocationEvent[]> {
    const rows = await this.db.selectFrom('revocation_events').selectAll()
      .where('event_id', '>', afterId).where('forget_after', '>', nowMs).orderBy('event_id').limit(limit).execute()
    return rows.map(toStoredEvent)
  }

  /** Every event of one kind that can still matter at `nowMs`, in id order (few: e.g. the revoked signing keys). */
  async liveOfKind(kind: RevocationKind, nowMs: number): Promise<StoredRevocationEvent[]> {
    const rows = await this.db.selectFrom('revocation_events').selectAll()
      .where('kind', '=', kind).where('forget_after', '>', nowMs).orderBy('event_id').execute()
    return rows.map(toStoredEvent)
  }

  /** Newest first; `before` pages back by id. */
  async list(filter: { limit: number; kind?: RevocationTargetKind; before?: string }): Promise<Revocation[]> {
    let query = this.db.selectFrom('revocations').selectAll()
    if (filter.kind) query = query.where('kind', '=', filter.kind)
    if (filter.before) query = query.where('id', '<', filter.before)
    const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute()
    return rows.map(toRevocation)
  }

  /** The task ids among `taskIds` that were ever revoked (kept for good: a revoked task never gets a token again). */
  async revokedTasks(taskIds: readonly string[]): Promise<Set<string>> {
    if (taskIds.length === 0) return new Set()
    const rows = await this.db.selectFrom('revocations').select('target').where('kind', '=', 'task').where('target', 'in', [...taskIds]).execute()
    return new Set(rows.map((r) => r.target))
  }

  /**
   * Deletes at most `limit` events whose forget_after has passed; returns how many (bounded storage).
   * INVARIANT: the newest event is always kept: it carries the high-water mark that the next id is allocated from, so
   * ids never go back and a subscriber resuming from an old id never mistakes a new event for one it has seen.
   */
  async pruneEvents(nowMs: number, limit: number): Promise<number> {
    const last = await this.lastEventId()
    const result = await this.db.deleteFrom('revocation_events')
      .where('event_id', 'in', (eb) => eb.selectFrom('revocation_events').select('event_id')
        .where('forget_after', '<=', nowMs).where('event_id', '<', last).limit(limit))
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}

function revocationRow(r: Revocation): RevocationsTable {
  return {
    id: r.id, kind: r.kind, target: r.target, covers: JSON.stringify(r.covers), reason: r.reason, actor: JSON.stringify(r.actor),
    revoked_at: r.revokedAt, forget_after: r.forgetAfter,
  }
}

function toRevocation(row: RevocationsTable): Revocation {
  return {
    id: row.id, kind: row.kind as RevocationTargetKind, target: row.target, covers: JSON.parse(row.covers) as Record<string, unknown>,
    reason: row.reason, actor: JSON.parse(row.actor) as RevocationActor, revokedAt: Number(row.revoked_at), forgetAfter: Number(row.forget_after),
  }
}

function toStoredEvent(row: RevocationEventsTable): StoredRevocationEvent {
  const kind = row.kind as RevocationKind
  return {
    eventId: Number(row.event_id),
    event: {
      kind, iss: row.iss, [REVOCATION_TARGET_MEMBER[kind]]: row.value,
      revoked_at: Math.floor(Number(row.revoked_at) / 1000), forget_after: Math.floor(Number(row.forget_after) / 1000),
    },
  }
}
