/** Registry use cases: register, update and change status; every change is a new immutable version plus an audit record. */
import { randomUUID } from 'node:crypto'
import { WritError } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { Storage, Repositories } from '../storage/storage.js'
import type { AdminIdentity } from '../admins/admin-identity.js'
import type { Agent, AgentChange, AgentDocument, AgentStatus } from './agent-document.js'
import { parseAgentDocument } from './parse-document.js'

export interface RegistryDeps {
  storage: Storage
  clock: Clock
}

export type StatusChange = 'suspend' | 'resume' | 'retire'

const TRANSITIONS: Record<StatusChange, { from: AgentStatus[]; to: AgentStatus }> = {
  suspend: { from: ['active'], to: 'suspended' },
  resume: { from: ['suspended'], to: 'active' },
  retire: { from: ['active', 'suspended'], to: 'retired' },
}

export async function registerAgent(input: unknown, admin: AdminIdentity, deps: RegistryDeps): Promise<Agent> {
  const document = await parseAgentDocument(input)
  const now = new Date(deps.clock.nowMs()).toISOString()
  const agent: Agent = { id: randomUUID(), name: document.name, status: 'active', version: 1, document, created_at: now, updated_at: now }
  return deps.storage.transaction(async (tx) => {
    await requireNameFree(tx, document.name, undefined)
    await tx.agents.insert(agent)
    await recordVersion(tx, agent, admin, { kind: 'register', fields: Object.keys(document) }, deps.clock)
    return agent
  }).catch(mapUniqueName(document.name))
}

export async function updateAgent(id: string, input: unknown, admin: AdminIdentity, deps: RegistryDeps): Promise<Agent> {
  const document = await parseAgentDocument(input)
  return deps.storage.transaction(async (tx) => {
    const current = await requireAgent(tx, id)
    if (current.status === 'retired') throw new WritError('AGENT_RETIRED', `agent \`${id}\` is retired and cannot change`)
    if (document.name !== current.name) await requireNameFree(tx, document.name, id)
    const fields = changedFields(current.document, document)
    if (fields.length === 0) return current
    const next: Agent = { ...current, name: document.name, document, version: current.version + 1, updated_at: new Date(deps.clock.nowMs()).toISOString() }
    await save(tx, next, current.version)
    await recordVersion(tx, next, admin, { kind: 'update', fields }, deps.clock)
    return next
  }).catch(mapUniqueName(document.name))
}

export async function changeAgentStatus(id: string, change: StatusChange, admin: AdminIdentity, deps: RegistryDeps): Promise<Agent> {
  return deps.storage.transaction(async (tx) => {
    const current = await requireAgent(tx, id)
    const transition = TRANSITIONS[change]
    if (!transition.from.includes(current.status)) {
      if (current.status === 'retired') throw new WritError('AGENT_RETIRED', `agent \`${id}\` is retired; retirement is final`)
      throw new WritError('AGENT_STATUS_CONFLICT', `agent \`${id}\` is ${current.status}; cannot ${change}`)
    }
    return applyStatusChange(tx, current, change, admin, deps.clock)
  })
}

/**
 * The status change itself, inside the caller's transaction: a new version and its audit record. The kill switch
 * (revocation/) suspends through here in the transaction that records the revocation.
 */
export async function applyStatusChange(tx: Repositories, current: Agent, change: StatusChange, admin: Pick<AdminIdentity, 'id'>, clock: Clock): Promise<Agent> {
  const next: Agent = { ...current, status: TRANSITIONS[change].to, version: current.version + 1, updated_at: new Date(clock.nowMs()).toISOString() }
  await save(tx, next, current.version)
  await recordVersion(tx, next, admin, { kind: change, fields: ['status'] }, clock)
  return next
}

export async function requireAgent(repositories: Repositories, id: string): Promise<Agent> {
  const agent = await repositories.agents.find(id)
  if (!agent) throw new WritError('AGENT_NOT_FOUND', `agent \`${id}\` does not exist`)
  return agent
}

async function save(tx: Repositories, next: Agent, expectedVersion: number): Promise<void> {
  if (!(await tx.agents.update(next, expectedVersion))) {
    throw new WritError('AGENT_STATUS_CONFLICT', `agent \`${next.id}\` changed concurrently; retry`)
  }
}

async function requireNameFree(tx: Repositories, name: string, selfId: string | undefined): Promise<void> {
  const holder = await tx.agents.findByName(name)
  if (holder && holder.id !== selfId) {
    // A retired agent keeps its name for good, so audit records naming it never become ambiguous.
    const detail = holder.status === 'retired'
      ? `the name \`${name}\` belongs to a retired agent and cannot be reused`
      : `the name \`${name}\` is already registered`
    throw new WritError('AGENT_NAME_TAKEN', detail)
  }
}

async function recordVersion(tx: Repositories, agent: Agent, admin: Pick<AdminIdentity, 'id'>, change: AgentChange, clock: Clock): Promise<void> {
  await tx.agents.insertVersion({
    agent_id: agent.id, version: agent.version, status: agent.status, document: agent.document,
    changed_by: admin.id, changed_at: agent.updated_at, change,
  })
  await tx.audit.append([{
    type: `agent.${change.kind}`,
    actor: { kind: 'admin', id: admin.id },
    data: { agent_id: agent.id, name: agent.name, version: agent.version, status: agent.status, fields: change.fields },
  }], clock.nowMs())
}

function changedFields(before: AgentDocument, after: AgentDocument): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]) as Set<keyof AgentDocument>
  return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key])).sort()
}

/** A concurrent insert of the same name loses on the unique index; report it as the name conflict it is. */
function mapUniqueName(name: string) {
  return (error: unknown): never => {
    const text = String((error as { message?: unknown })?.message ?? '')
    if (!(error instanceof WritError) && /unique|duplicate key/i.test(text) && /name/i.test(text)) {
      throw new WritError('AGENT_NAME_TAKEN', `the name \`${name}\` is already registered`, { cause: error })
    }
    throw error
  }
}
