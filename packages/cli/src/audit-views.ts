/** Human views of the audit log: a table of records and the result of a chain verification. */
import type { AuditRecord, ChainReport } from '@writ/server'
import { formatTable, printable } from './output.js'

export const AUDIT_HEADERS = ['SEQ', 'TIME', 'TYPE', 'ACTOR', 'ACTION', 'DECISION', 'JTI'] as const

export function formatAuditTable(records: readonly AuditRecord[]): string {
  if (records.length === 0) return 'no audit records'
  return formatTable(AUDIT_HEADERS, records.map(auditRow))
}

export function auditRow(record: AuditRecord): unknown[] {
  return [record.seq, record.time, record.type, `${record.actor.kind}:${record.actor.id}`, subject(record), decision(record), record.token?.jti ?? '']
}

/** What the record is about: the requested action, or for registry and admin events the name they changed. */
function subject(record: AuditRecord): string {
  if (record.action !== undefined) return record.resource === undefined ? record.action : `${record.action} on ${record.resource}`
  const name = record.data?.name
  return typeof name === 'string' ? name : ''
}

function decision(record: AuditRecord): string {
  if (!record.decision) return ''
  const reasons = record.decision.reasons.join(',')
  return reasons ? `${record.decision.effect}: ${reasons}` : record.decision.effect
}

/** One line for a chain that verifies; a broken chain is reported as an error by the caller. */
export function formatChainOk(report: ChainReport, where: string): string {
  return `audit chain OK (${where}): ${report.count} records, head seq ${report.headSeq}, head hash ${printable(report.headHash)}`
}
