/**
 * writeCertificates(): what one group-commit batch of `POST /ssh/certificates` writes in one transaction: the DPoP
 * proof jtis, the certificate rows (whose unique jti is the token's spend), and their audit records. Nothing leaves
 * the server before this commits (fail closed).
 */
import type { AuditEvent } from '../audit/audit-record.js'
import type { Repositories, Storage } from '../storage/storage.js'
import type { SshCertificateRow } from '../storage/ssh-certificate-repository.js'
import type { BatchWriter } from '../tokens/issuance-log.js'

export interface CertificateEntry {
  row: SshCertificateRow
  dpop?: { jkt: string; jti: string; expiresAtMs: number }
  audit: AuditEvent
}

export type CertificateOutcome = 'committed' | 'token_spent' | 'dpop_proof_replayed' | 'task_revoked'

export function certificateWriter(storage: Storage): BatchWriter<CertificateEntry, CertificateOutcome> {
  return (entries, nowMs) => storage.transaction((tx) => writeCertificates(tx, entries, nowMs))
}

export async function writeCertificates(
  tx: Pick<Repositories, 'tokens' | 'sshCertificates' | 'audit' | 'revocations'>, entries: readonly CertificateEntry[], nowMs: number,
): Promise<CertificateOutcome[]> {
  // INVARIANT: agent ids never start with `dpop:`, so a proof's key never collides with an assertion's (as at /oauth/token).
  const fresh = await tx.tokens.useAssertions(entries.flatMap((e) => e.dpop ? [{ client_id: `dpop:${e.dpop.jkt}`, jti: e.dpop.jti, expires_at: e.dpop.expiresAtMs }] : []))
  // A task revoked on another replica a moment ago (this replica's state may lag by a poll): read in this transaction.
  const revokedTasks = await tx.revocations.revokedTasks([...new Set(entries.map((e) => e.row.task_id as string))])
  const outcomes: CertificateOutcome[] = []
  const seen = new Set<string>()
  for (const entry of entries) {
    const jti = entry.row.jti as string
    if (entry.dpop && !fresh.delete(`dpop:${entry.dpop.jkt} ${entry.dpop.jti}`)) outcomes.push('dpop_proof_replayed')
    else if (revokedTasks.has(entry.row.task_id as string)) outcomes.push('task_revoked')
    // Two uses of one token in one batch: the first spends it.
    else if (seen.has(jti)) outcomes.push('token_spent')
    else {
      seen.add(jti)
      outcomes.push('committed')
    }
  }
  const inserted = await tx.sshCertificates.insertUser(entries.filter((_, i) => outcomes[i] === 'committed').map((e) => e.row))
  const events: AuditEvent[] = []
  entries.forEach((entry, i) => {
    if (outcomes[i] === 'committed' && !inserted.has(entry.row.jti as string)) outcomes[i] = 'token_spent'
    events.push(outcomes[i] === 'committed' ? entry.audit : denial(entry.audit, outcomes[i] as CertificateOutcome))
  })
  await tx.audit.append(events, nowMs)
  return outcomes
}

// A refused exchange is recorded with why, and without the certificate it did not get.
function denial(event: AuditEvent, outcome: CertificateOutcome): AuditEvent {
  return { ...event, type: 'ssh_certificate.deny', decision: { effect: 'deny', reasons: [outcome] }, data: { host: event.data?.host, public_key_fingerprint: event.data?.public_key_fingerprint } }
}
