/** SQL for resource servers and their immutable versions. */
import type { Kysely } from 'kysely'
import type { ResourceServer, ResourceServerChange, ResourceServerDocument, ResourceServerStatus, ResourceServerVersion } from '../resource-servers/resource-server-document.js'
import type { Database } from './tables.js'

export class ResourceServerRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(id: string): Promise<ResourceServer | undefined> {
    const row = await this.db.selectFrom('resource_servers').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toResourceServer(row)
  }

  async findByName(name: string): Promise<ResourceServer | undefined> {
    const row = await this.db.selectFrom('resource_servers').selectAll().where('name', '=', name).executeTakeFirst()
    return row && toResourceServer(row)
  }

  async findByAudience(audience: string): Promise<ResourceServer | undefined> {
    const row = await this.db.selectFrom('resource_servers').selectAll().where('audience', '=', audience).executeTakeFirst()
    return row && toResourceServer(row)
  }

  /** Every resource server, removed ones included (the cache keeps them to refuse their assertions and audiences). */
  async list(): Promise<ResourceServer[]> {
    const rows = await this.db.selectFrom('resource_servers').selectAll().orderBy('name').execute()
    return rows.map(toResourceServer)
  }

  async insert(server: ResourceServer): Promise<void> {
    await this.db.insertInto('resource_servers').values({
      id: server.id, name: server.name, audience: server.audience, status: server.status, version: server.version,
      document: JSON.stringify(server.document), created_at: Date.parse(server.created_at), updated_at: Date.parse(server.updated_at),
    }).execute()
  }

  /** Optimistic update: only succeeds when the stored version is still `expectedVersion`. */
  async update(server: ResourceServer, expectedVersion: number): Promise<boolean> {
    const result = await this.db.updateTable('resource_servers').set({
      name: server.name, audience: server.audience, status: server.status, version: server.version,
      document: JSON.stringify(server.document), updated_at: Date.parse(server.updated_at),
    }).where('id', '=', server.id).where('version', '=', expectedVersion).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async insertVersion(version: ResourceServerVersion): Promise<void> {
    await this.db.insertInto('resource_server_versions').values({
      resource_server_id: version.resource_server_id, version: version.version, status: version.status,
      document: JSON.stringify(version.document), changed_by: version.changed_by,
      changed_at: Date.parse(version.changed_at), change: JSON.stringify(version.change),
    }).execute()
  }

  async versions(id: string): Promise<ResourceServerVersion[]> {
    const rows = await this.db.selectFrom('resource_server_versions').selectAll().where('resource_server_id', '=', id).orderBy('version').execute()
    return rows.map((row) => ({
      resource_server_id: row.resource_server_id, version: row.version, status: row.status as ResourceServerStatus,
      document: JSON.parse(row.document) as ResourceServerDocument, changed_by: row.changed_by,
      changed_at: new Date(row.changed_at).toISOString(), change: JSON.parse(row.change) as ResourceServerChange,
    }))
  }
}

function toResourceServer(row: Database['resource_servers']): ResourceServer {
  return {
    id: row.id, name: row.name, audience: row.audience, status: row.status as ResourceServerStatus, version: row.version,
    document: JSON.parse(row.document) as ResourceServerDocument,
    created_at: new Date(row.created_at).toISOString(), updated_at: new Date(row.updated_at).toISOString(),
  }
}
