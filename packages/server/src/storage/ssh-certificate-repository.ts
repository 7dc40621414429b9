/** SQL for issued SSH certificates: the spend of an `ssh.login` token's jti, and the KRL's reads. */
import type { Kysely } from 'kysely'
import type { Database, SshCertificatesTable } from './tables.js'

export type SshCertificateRow = SshCertificatesTable

export class SshCertificateRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Records issued certificates, in the issuing transaction. The token's jti was spent in the same transaction (the
   * replay store, write-issuances.ts); the unique jti here is a second, permanent guard: a duplicate fails the batch.
   */
  async insert(rows: readonly SshCertificateRow[]): Promise<void> {
    if (rows.length > 0) await this.db.insertInto('ssh_certificates').values([...rows]).execute()
  }

  /** Live certificates (`valid_before` after `nowMs`) that a revocation of `kind`/`value` may cover; the caller decides. */
  async liveCandidates(kind: string, value: string, nowMs: number): Promise<SshCertificateRow[]> {
    let query = this.db.selectFrom('ssh_certificates').selectAll().where('valid_before', '>', nowMs).where('kind', '=', 'user')
    switch (kind) {
      case 'token': query = query.where('jti', '=', value); break
      case 'task': query = query.where('task_id', '=', value); break
      case 'delegation': query = query.where('parent', '=', value); break
      case 'key': query = query.where('kid', '=', value); break
      // An agent may be the client, the subject or any actor of the chain (JSON text): a wide net (`_` and `%` match
      // anything), then the exact rule of RevocationList on each candidate.
      case 'agent': query = query.where((eb) => eb.or([eb('agent_id', '=', value), eb('subject', '=', value), eb('act', 'like', `%${JSON.stringify(value)}%`)])); break
      default: return []
    }
    return query.execute()
  }

  /** Live certificates issued at or after `sinceMs` (the sweep that catches an issue racing a revocation). */
  async liveIssuedSince(sinceMs: number, nowMs: number): Promise<SshCertificateRow[]> {
    return this.db.selectFrom('ssh_certificates').selectAll().where('issued_at', '>=', sinceMs).where('valid_before', '>', nowMs).execute()
  }

  /** Live certificates for the named hosts (host certificates and user certificates), for removed hosts. */
  async liveForHosts(hostNames: readonly string[], nowMs: number): Promise<SshCertificateRow[]> {
    if (hostNames.length === 0) return []
    return this.db.selectFrom('ssh_certificates').selectAll().where('host_name', 'in', [...hostNames]).where('valid_before', '>', nowMs).execute()
  }

  async find(serial: string): Promise<SshCertificateRow | undefined> {
    return this.db.selectFrom('ssh_certificates').selectAll().where('serial', '=', serial).executeTakeFirst()
  }

  /** Deletes at most `limit` certificates that expired before `nowMs`; a KRL never needs to name them. */
  async pruneExpired(nowMs: number, limit: number): Promise<number> {
    const result = await this.db.deleteFrom('ssh_certificates')
      .where('serial', 'in', (eb) => eb.selectFrom('ssh_certificates').select('serial').where('valid_before', '<', nowMs).limit(limit))
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}

