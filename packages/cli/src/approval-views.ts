/** How `writ approvals` prints held requests; every value comes from the server (and partly from the agent) and is escaped. */
import { formatFields, formatTable, printable } from './output.js'

/** The admin API's view of a held capability request. */
export interface Approval {
  auth_req_id: string
  agent_id: string
  status: 'pending' | 'approved' | 'denied' | 'consumed' | 'expired'
  action: string
  resource: string
  parameters?: Record<string, unknown>
  task: { id: string; step?: string; purpose?: string }
  audience: string
  /** Present when the agent acts on delegated authority: the human, and the grant and agents it came through. */
  on_behalf_of?: string
  delegation?: { grant: string; chain: string[]; depth: number }
  binding: string
  approvers: string[]
  reasons: string[]
  created_at: string
  expires_at: string
  decided_by: string | null
  decided_at: string | null
  decision_note: string | null
  token_jti: string | null
}

/** Agent id → name, when the registry could be read; ids are shown otherwise. */
export type AgentNames = ReadonlyMap<string, string>

export function formatApprovalList(approvals: readonly Approval[], names: AgentNames, nowMs: number): string {
  if (approvals.length === 0) return '(no approvals)'
  return formatTable(['AUTH_REQ_ID', 'STATUS', 'AGENT', 'ACTION', 'RESOURCE', 'TASK', 'APPROVERS', 'EXPIRES'], approvals.map((a) => [
    a.auth_req_id, a.status, names.get(a.agent_id) ?? a.agent_id, a.action, a.resource, a.task.id, a.approvers.join(', '),
    a.status === 'pending' ? `in ${remaining(a.expires_at, nowMs)}` : a.expires_at,
  ]))
}

export function formatApproval(a: Approval, names: AgentNames, nowMs: number): string {
  const name = names.get(a.agent_id)
  return formatFields([
    ['auth_req_id', a.auth_req_id],
    ['status', a.status],
    ['agent', name === undefined ? a.agent_id : `${name} (${a.agent_id})`],
    ['on behalf of', a.on_behalf_of],
    ['delegated via', a.delegation === undefined ? undefined
      : `${a.delegation.chain.length === 0 ? 'the human directly' : a.delegation.chain.map((id) => names.get(id) ?? id).join(' ← ')} (grant ${a.delegation.grant}, depth ${a.delegation.depth})`],
    ['action', a.action],
    ['resource', a.resource],
    ['parameters', a.parameters === undefined ? '' : JSON.stringify(a.parameters)],
    ['task', a.task.id],
    ['step', a.task.step],
    ['purpose', a.task.purpose],
    ['audience', a.audience],
    ['binding', a.binding],
    ['held because', a.reasons.join(', ')],
    ['approvers', a.approvers.join(', ')],
    ['created', a.created_at],
    ['expires', a.status === 'pending' ? `${a.expires_at} (in ${remaining(a.expires_at, nowMs)})` : a.expires_at],
    ['decided by', a.decided_by],
    ['decided at', a.decided_at],
    ['note', a.decision_note],
    ['token jti', a.token_jti],
  ].filter(([, value]) => value !== undefined && value !== null && value !== '') as [string, unknown][])
}

/** `approved `<id>`: deploy.run on service:billing for agent `deploy-bot` (task T-1)` */
export function formatDecision(a: Approval, names: AgentNames): string {
  const agent = names.get(a.agent_id) ?? a.agent_id
  return `${a.status} \`${printable(a.auth_req_id)}\`: ${printable(a.action)} on ${printable(a.resource)} for agent \`${printable(agent)}\` (task ${printable(a.task.id)})`
}

function remaining(expiresAt: string, nowMs: number): string {
  const seconds = Math.max(0, Math.round((Date.parse(expiresAt) - nowMs) / 1000))
  return seconds >= 120 ? `${Math.floor(seconds / 60)} min` : `${seconds} s`
}
