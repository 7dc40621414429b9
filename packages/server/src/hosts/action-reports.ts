/**
 * The action layer of the audit: a host reports each sudo run (or refusal) it enforced; each report becomes one
 * `sudo.exec` record. Agent, task and token come from Writ's own issued-token row, never from the host; a report whose
 * jti was not issued for this host's audience is rejected. Idempotent by report id, recorded in the audit transaction.
 */
import { z } from 'zod'
import { WritError } from '@writ/sdk'
import type { AuditEvent } from '../audit/audit-record.js'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'
import { hostAudience, type Host } from './host.js'

export const MAX_REPORTS_PER_BATCH = 100
const text = (max: number) => z.string().max(max).regex(/^[^\u0000]*$/, 'no NUL')
const epochMs = z.number().int().min(0).max(8.64e15)

export const actionReportSchema = z.strictObject({
  id: z.uuid(),
  jti: z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/),
  runas: text(64).min(1),
  argv: z.array(text(8_192)).min(1).max(1_024),
  command: text(4_096),
  user: text(64).min(1),
  exit_status: z.number().int().min(-1).max(255).nullable(),
  signal: z.string().regex(/^SIG[A-Z0-9+-]{1,12}$/).nullable(),
  started_at: epochMs,
  ended_at: epochMs.nullable(),
  outcome: z.enum(['ran', 'refused']),
  reason: z.string().max(128).regex(/^[a-z0-9_.:-]*$/).optional(),
})

export const actionReportsSchema = z.strictObject({ reports: z.array(actionReportSchema).min(1).max(MAX_REPORTS_PER_BATCH) })

export type ActionReport = z.infer<typeof actionReportSchema>

export interface ActionReportsResult {
  /** Reports recorded now or before (a re-sent id counts: the host may drop it from its spool). */
  accepted: number
  /** Reports Writ will never accept (a jti not issued for this host): the host drops them too. */
  rejected: Array<{ id: string; reason: string }>
}

export async function recordActionReports(host: Host, input: unknown, deps: { storage: Storage; clock: Clock }): Promise<ActionReportsResult> {
  const parsed = actionReportsSchema.safeParse(input)
  if (!parsed.success) {
    const reasons = parsed.error.issues.slice(0, 10).map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    throw new WritError('HOST_ACTION_REPORT_INVALID', `the action reports are invalid: ${reasons.join('; ')}`, { reasons })
  }
  const reports = parsed.data.reports
  for (const report of reports) {
    if (JSON.stringify(report.argv).length > 64 * 1024) throw new WritError('HOST_ACTION_REPORT_INVALID', `report \`${report.id}\`: argv exceeds 64 KiB`)
  }
  const audience = hostAudience(host.name)
  return deps.storage.transaction(async (tx) => {
    const nowMs = deps.clock.nowMs()
    const events: AuditEvent[] = []
    const rejected: ActionReportsResult['rejected'] = []
    let accepted = 0
    for (const report of reports) {
      const issued = await tx.tokens.findIssued(report.jti)
      // untrusted: the host names the jti; only a token Writ issued for this very host links the run to an agent and task.
      if (issued?.audience !== audience) {
        rejected.push({ id: report.id, reason: 'jti_not_issued_for_host' })
        continue
      }
      accepted++
      if (!(await tx.hosts.recordActionReport({ id: report.id, host_id: host.id, jti: report.jti, received_at: nowMs }))) continue
      events.push({
        type: 'sudo.exec',
        layer: 'action',
        actor: { kind: 'host', id: host.id },
        on_behalf_of: issued.agent_id,
        task: { id: issued.task_id },
        action: issued.action,
        resource: issued.resource,
        decision: { effect: report.outcome === 'ran' ? 'allow' : 'deny', reasons: report.reason ? [report.reason] : [report.outcome] },
        token: { jti: issued.jti, exp: Math.floor(issued.expires_at / 1000) },
        data: {
          report_id: report.id, host: host.name, agent_id: issued.agent_id, runas: report.runas, argv: report.argv, command: report.command,
          user: report.user, exit_status: report.exit_status, signal: report.signal, started_at: report.started_at, ended_at: report.ended_at,
          outcome: report.outcome, ...(report.reason ? { reason: report.reason } : {}),
        },
      })
    }
    if (events.length > 0) await tx.audit.append(events, nowMs)
    return { accepted, rejected }
  })
}
