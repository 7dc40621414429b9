/** SQL for hosts, their versions, join tokens and received action reports. */
import type { Kysely } from 'kysely'
import type { PublicJwk } from '../agents/agent-document.js'
import type { Host, HostChange, HostStatus, HostVersion, JoinToken, Labels } from '../hosts/host.js'
import type { Database } from './tables.js'

export class HostRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(id: string): Promise<Host | undefined> {
    const row = await this.db.selectFrom('hosts').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toHost(row)
  }

  async findByName(name: string): Promise<Host | undefined> {
    const row = await this.db.selectFrom('hosts').selectAll().where('name', '=', name).executeTakeFirst()
    return row && toHost(row)
  }

  /** Every host, removed ones included (the directory keeps them to refuse them by name). */
  async list(): Promise<Host[]> {
    const rows = await this.db.selectFrom('hosts').selectAll().orderBy('name').execute()
    return rows.map(toHost)
  }

  async insert(host: Host): Promise<void> {
    await this.db.insertInto('hosts').values({
      id: host.id, name: host.name, labels: JSON.stringify(host.labels), ssh_host_public_key: host.ssh_host_public_key,
      client_jwk: JSON.stringify(host.client_jwk), status: host.status, version: host.version, join_token_id: host.join_token_id,
      created_at: Date.parse(host.created_at), updated_at: Date.parse(host.updated_at),
    }).execute()
  }

  /** Optimistic update of labels and status: only succeeds when the stored version is still `expectedVersion`. */
  async update(host: Host, expectedVersion: number): Promise<boolean> {
    const result = await this.db.updateTable('hosts').set({
      labels: JSON.stringify(host.labels), status: host.status, version: host.version, updated_at: Date.parse(host.updated_at),
    }).where('id', '=', host.id).where('version', '=', expectedVersion).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async insertVersion(version: HostVersion): Promise<void> {
    await this.db.insertInto('host_versions').values({
      host_id: version.host_id, version: version.version, status: version.status, labels: JSON.stringify(version.labels),
      changed_by: version.changed_by, changed_at: Date.parse(version.changed_at), change: JSON.stringify(version.change),
    }).execute()
  }

  async versions(id: string): Promise<HostVersion[]> {
    const rows = await this.db.selectFrom('host_versions').selectAll().where('host_id', '=', id).orderBy('version').execute()
    return rows.map((row) => ({
      host_id: row.host_id, version: row.version, status: row.status as HostStatus, labels: JSON.parse(row.labels) as Labels,
      changed_by: row.changed_by, changed_at: new Date(row.changed_at).toISOString(), change: JSON.parse(row.change) as HostChange,
    }))
  }

  async insertJoinToken(token: JoinToken): Promise<void> {
    await this.db.insertInto('host_join_tokens').values({ ...token, labels: JSON.stringify(token.labels) }).execute()
  }

  async findJoinToken(id: string): Promise<JoinToken | undefined> {
    const row = await this.db.selectFrom('host_join_tokens').selectAll().where('id', '=', id).executeTakeFirst()
    return row && { ...row, labels: JSON.parse(row.labels) as Labels }
  }

  /**
   * Spends the join token for `hostId`: true for exactly one caller, and only while it is unspent and unexpired.
   * INVARIANT: the condition is in the UPDATE itself, so two concurrent enrollments cannot both see it unspent.
   */
  async spendJoinToken(id: string, hostId: string, nowMs: number): Promise<boolean> {
    const result = await this.db.updateTable('host_join_tokens').set({ spent_at: nowMs, host_id: hostId })
      .where('id', '=', id).where('spent_at', 'is', null).where('expires_at', '>', nowMs).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  /**
   * Records an action report id; false when it was recorded before (the caller then skips its audit record).
   * Runs inside the caller's transaction, with the audit append.
   */
  async recordActionReport(report: { id: string; host_id: string; jti: string; received_at: number }): Promise<boolean> {
    const result = await this.db.insertInto('host_action_reports').values(report)
      .onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst()
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
  }
}

function toHost(row: Database['hosts']): Host {
  return {
    id: row.id, name: row.name, labels: JSON.parse(row.labels) as Labels, ssh_host_public_key: row.ssh_host_public_key,
    client_jwk: JSON.parse(row.client_jwk) as PublicJwk, status: row.status as HostStatus, version: row.version,
    join_token_id: row.join_token_id, created_at: new Date(row.created_at).toISOString(), updated_at: new Date(row.updated_at).toISOString(),
  }
}
