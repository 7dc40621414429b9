/** SQL for agents and their immutable versions. */
import type { Kysely } from 'kysely'
import type { Agent, AgentChange, AgentDocument, AgentStatus, AgentVersion } from '../agents/agent-document.js'
import type { Database } from './tables.js'

export class AgentRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(id: string): Promise<Agent | undefined> {
    const row = await this.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toAgent(row)
  }

  async findByName(name: string): Promise<Agent | undefined> {
    const row = await this.db.selectFrom('agents').selectAll().where('name', '=', name).executeTakeFirst()
    return row && toAgent(row)
  }

  async list(): Promise<Agent[]> {
    const rows = await this.db.selectFrom('agents').selectAll().orderBy('name').execute()
    return rows.map(toAgent)
  }

  /** Status and version of several agents, read inside the issuing transaction (the authoritative check). */
  async statuses(ids: readonly string[]): Promise<Map<string, { status: AgentStatus; version: number }>> {
    if (ids.length === 0) return new Map()
    const rows = await this.db.selectFrom('agents').select(['id', 'status', 'version']).where('id', 'in', ids).execute()
    return new Map(rows.map((r) => [r.id, { status: r.status as AgentStatus, version: r.version }]))
  }

  async insert(agent: Agent): Promise<void> {
    await this.db.insertInto('agents').values({
      id: agent.id, name: agent.name, status: agent.status, version: agent.version,
      document: JSON.stringify(agent.document), created_at: Date.parse(agent.created_at), updated_at: Date.parse(agent.updated_at),
    }).execute()
  }

  /** Optimistic update: only succeeds when the stored version is still `expectedVersion`. */
  async update(agent: Agent, expectedVersion: number): Promise<boolean> {
    const result = await this.db.updateTable('agents').set({
      name: agent.name, status: agent.status, version: agent.version,
      document: JSON.stringify(agent.document), updated_at: Date.parse(agent.updated_at),
    }).where('id', '=', agent.id).where('version', '=', expectedVersion).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async insertVersion(version: AgentVersion): Promise<void> {
    await this.db.insertInto('agent_versions').values({
      agent_id: version.agent_id, version: version.version, status: version.status,
      document: JSON.stringify(version.document), changed_by: version.changed_by,
      changed_at: Date.parse(version.changed_at), change: JSON.stringify(version.change),
    }).execute()
  }

  async versions(id: string): Promise<AgentVersion[]> {
    const rows = await this.db.selectFrom('agent_versions').selectAll().where('agent_id', '=', id).orderBy('version').execute()
    return rows.map((row) => ({
      agent_id: row.agent_id, version: row.version, status: row.status as AgentStatus,
      document: JSON.parse(row.document) as AgentDocument, changed_by: row.changed_by,
      changed_at: new Date(row.changed_at).toISOString(), change: JSON.parse(row.change) as AgentChange,
    }))
  }
}

function toAgent(row: Database['agents']): Agent {
  return {
    id: row.id, name: row.name, status: row.status as AgentStatus, version: row.version,
    document: JSON.parse(row.document) as AgentDocument,
    created_at: new Date(row.created_at).toISOString(), updated_at: new Date(row.updated_at).toISOString(),
  }
}
