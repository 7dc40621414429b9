/** How `writ status` prints the server's state: one aligned line per concern, the problems first in their line. */
import type { ServerStatus } from '@writ/server'
import { formatFields } from './output.js'

// Enough of a SHA-256 to compare by eye with `writ audit verify`, which prints it whole.
const HASH_PREFIX = 16

export function formatStatus(status: ServerStatus, adminUrl: string): string {
  const nowMs = Date.parse(status.time)
  const { head, self_check: check, issuance } = status.audit
  return formatFields([
    ['server', `reachable at ${adminUrl}, writ ${status.version}`],
    ['storage', status.storage.driver],
    ['audit head', `seq ${head.seq}, hash ${head.hash.slice(0, HASH_PREFIX)}…`],
    ['self-check', selfCheck(check, nowMs)],
    ['issuance', issuance === 'halted' ? 'HALTED: token requests get 503 AUDIT_CHAIN_BROKEN' : 'open'],
    ['signing key', `${status.signing_key.kid} (${status.signing_key.alg}), ${age(status.signing_key.age_seconds)} old`],
    ['policy set', `version ${status.policy.version}, since ${status.policy.created_at}`],
  ])
}

function selfCheck(check: ServerStatus['audit']['self_check'], nowMs: number): string {
  const verified = check.verified ? `verified through seq ${check.verified.seq}, ${ago(check.verified.at, nowMs)}` : 'nothing verified yet'
  switch (check.state) {
    case 'ok': return `ok, ${verified}`
    case 'pending': return `first check under way; ${verified}`
    case 'error': return `could not read storage ${ago(check.checked_at, nowMs)}; ${verified}`
    case 'broken': return `BROKEN at seq ${check.first_bad?.seq ?? '?'}: ${check.first_bad?.reason ?? 'unknown reason'} (found ${ago(check.checked_at, nowMs)})`
  }
}

function ago(at: string | undefined, nowMs: number): string {
  if (at === undefined) return ''
  return `${age(Math.max(0, Math.round((nowMs - Date.parse(at)) / 1000)))} ago`
}

function age(seconds: number): string {
  if (seconds < 120) return `${seconds} s`
  if (seconds < 7_200) return `${Math.floor(seconds / 60)} min`
  if (seconds < 172_800) return `${Math.floor(seconds / 3_600)} h`
  return `${Math.floor(seconds / 86_400)} d`
}
