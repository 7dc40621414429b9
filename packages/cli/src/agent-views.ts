/** Human views of agents: the list table, one agent's details, and its version history. */
import type { Agent } from '@writ/server'
import { formatFields, formatRows, formatTable, printable } from './output.js'

/** One entry of GET /v1/agents/:id/versions. */
export interface AgentVersionEntry {
  version: number
  status: string
  changed_by: string
  changed_at: string
  change: { kind: string; fields: string[] }
}

export function formatAgentList(agents: readonly Agent[]): string {
  if (agents.length === 0) return 'no agents registered'
  return formatTable(
    ['NAME', 'ID', 'STATUS', 'VERSION', 'OWNER', 'UPDATED'],
    agents.map((a) => [a.name, a.id, a.status, a.version, a.document.owner, a.updated_at]),
  )
}

export function formatAgent(agent: Agent): string {
  const doc = agent.document
  const sections = [formatFields([
    ['name', agent.name], ['id', agent.id], ['status', agent.status], ['version', agent.version],
    ['owner', doc.owner], ['team', doc.team], ['platform', doc.platform], ['description', doc.description],
    ['created', agent.created_at], ['updated', agent.updated_at],
  ])]
  sections.push(section('capabilities', doc.capabilities.map((c) => [c.id, c.risk_level, c.description])))
  sections.push(section('data access', doc.data_access.map((d) => [d.resource, d.access_type, d.sensitivity])))
  sections.push(section('tools', doc.tools.map((t) => [t.tool_id, t.mcp_server ?? '', t.permissions.join(',')])))
  sections.push(`human oversight\n${formatFields([
    ['required for', doc.human_oversight.required_for.join(', ') || '(nothing)'],
    ['approvers', doc.human_oversight.approvers.join(', ') || '(none)'],
  ], '  ')}`)
  // Public keys are not secrets, but their kid and type are all a reader needs.
  sections.push(section('keys', doc.jwks.keys.map((k) => [k.kid ?? '', k.kty, k.crv])))
  // Who may authenticate as the agent without a key: reviewed like the keys (docs/federation.md).
  sections.push(section('federated identities', (doc.federated_identities ?? []).map((f) => [f.provider, f.subject, f.claims ? JSON.stringify(f.claims) : ''])))
  return sections.join('\n')
}

export function formatHistory(versions: readonly AgentVersionEntry[]): string {
  return formatTable(
    ['VERSION', 'STATUS', 'CHANGE', 'FIELDS', 'BY', 'AT'],
    versions.map((v) => [v.version, v.status, v.change.kind, v.change.fields.join(','), v.changed_by, v.changed_at]),
  )
}

/** `agent `name` (id) is now suspended, version 3`. */
export function formatStatusLine(agent: Agent): string {
  return `agent \`${printable(agent.name)}\` (${printable(agent.id)}) is now ${printable(agent.status)}, version ${agent.version}`
}

function section(title: string, rows: unknown[][]): string {
  return `${title}\n${rows.length === 0 ? '  (none)' : formatRows(rows, '  ')}`
}
