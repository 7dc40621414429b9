/** Replays the recorded decisions of a period against a candidate policy set and reports which would change. */
import type { Agent } from '../agents/agent-document.js'
import type { AuditRecord } from '../audit/audit-record.js'
import type { Storage } from '../storage/storage.js'
import type { AuthorizationRequest, PolicyEngine } from './policy-engine.js'

export interface ChangedDecision {
  seq: number
  time: string
  agent_id: string
  agent_name: string
  action: string
  resource: string
  task_id: string
  before: 'allow' | 'deny' | 'hold'
  after: 'allow' | 'deny' | 'hold'
  reasons: string[]
}

export interface WhatIfReport {
  since: string
  evaluated: number
  /** Records that carry no replayable context (older records, redemptions of approvals, overturned outcomes). */
  skipped: number
  changed_count: number
  changed: ChangedDecision[]
}

interface PolicyContext {
  agent_version: number
  effect?: 'allow' | 'deny' | 'hold'
  time_ms: number
  source_ip?: string
  task_purpose?: string
  parameters?: Record<string, unknown>
  access_type?: 'read' | 'write' | 'delete'
  audience?: string
}

const DECISION_TYPES = ['token.issue', 'token.deny', 'approval.request'] as const
const PAGE = 1_000
const MAX_LISTED = 1_000

export async function whatIf(candidate: PolicyEngine, sinceMs: number, storage: Storage): Promise<WhatIfReport> {
  const report: WhatIfReport = { since: new Date(sinceMs).toISOString(), evaluated: 0, skipped: 0, changed_count: 0, changed: [] }
  const versions = new Map<string, Agent | undefined>()
  let after = 0
  for (let page = await storage.audit.since(sinceMs, DECISION_TYPES, after, PAGE); page.length > 0; page = await storage.audit.since(sinceMs, DECISION_TYPES, after, PAGE)) {
    for (const record of page) {
      after = record.seq
      const context = replayable(record)
      const agent = context && await agentAt(storage, versions, record.actor.id, context.agent_version)
      if (!context || !agent || !record.action || !record.resource || !record.task) {
        report.skipped++
        continue
      }
      const request: AuthorizationRequest = {
        agent, action: record.action, resource: record.resource, timeMs: context.time_ms,
        task: { id: record.task.id, ...(record.task.step ? { step: record.task.step } : {}), ...(context.task_purpose ? { purpose: context.task_purpose } : {}) },
        ...(context.parameters ? { parameters: context.parameters } : {}),
        ...(context.access_type ? { accessType: context.access_type } : {}),
        ...(context.source_ip ? { sourceIp: context.source_ip } : {}),
        ...(context.audience ? { audience: context.audience } : {}),
      }
      const decision = candidate.decide(request)
      const before = context.effect ?? recordedEffect(record)
      report.evaluated++
      if (decision.effect === before) continue
      report.changed_count++
      if (report.changed.length < MAX_LISTED) {
        report.changed.push({
          seq: record.seq, time: record.time, agent_id: agent.id, agent_name: agent.name, action: record.action,
          resource: record.resource, task_id: record.task.id, before, after: decision.effect, reasons: decision.reasons,
        })
      }
    }
  }
  return report
}

function replayable(record: AuditRecord): PolicyContext | undefined {
  const data = record.data ?? {}
  // A token issued on an approval replays as the hold it came from, which is its own record; overturned outcomes
  // (replay, suspension at commit) were not policy decisions.
  if (data.auth_req_id !== undefined && record.type === 'token.issue') return undefined
  if (data.overturned !== undefined) return undefined
  const context = data.policy_context as PolicyContext | undefined
  return context && typeof context.agent_version === 'number' && typeof context.time_ms === 'number' ? context : undefined
}

function recordedEffect(record: AuditRecord): 'allow' | 'deny' | 'hold' {
  return record.type === 'token.issue' ? 'allow' : record.type === 'approval.request' ? 'hold' : 'deny'
}

/** The agent as it was when the decision was made: its document at that version is kept for exactly this. */
async function agentAt(storage: Storage, cache: Map<string, Agent | undefined>, agentId: string, version: number): Promise<Agent | undefined> {
  const key = `${agentId}@${version}`
  if (!cache.has(key)) {
    const current = await storage.agents.find(agentId)
    const at = current && (await storage.agents.versions(agentId)).find((v) => v.version === version)
    cache.set(key, current && at && {
      id: agentId, name: at.document.name, status: at.status, version, document: at.document,
      created_at: current.created_at, updated_at: at.changed_at,
    })
  }
  return cache.get(key)
}
