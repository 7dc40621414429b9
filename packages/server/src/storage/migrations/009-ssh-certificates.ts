/** SSH certificates Writ issued (ssh/): what the KRL needs to name a revoked one, and the jti spend of `ssh.login`. */
import type { Kysely } from 'kysely'

export const name = 'ssh-certificates'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('ssh_certificates')
    // uint64 as decimal text (portable; PostgreSQL's bigint is signed). Random 63-bit: unique across replicas.
    .addColumn('serial', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    // A capability token buys one certificate: the unique index is the spend (NULL for host certificates).
    .addColumn('jti', 'text', (c) => c.unique())
    .addColumn('host_name', 'text', (c) => c.notNull())
    // The token's claims a revocation can match (RevocableClaims) and the kid of its header; null for host certificates.
    .addColumn('iss', 'text')
    .addColumn('agent_id', 'text')
    .addColumn('subject', 'text')
    .addColumn('task_id', 'text')
    .addColumn('parent', 'text')
    .addColumn('act', 'text')
    .addColumn('kid', 'text')
    .addColumn('token_iat', 'bigint')
    // JSON array.
    .addColumn('principals', 'text', (c) => c.notNull())
    .addColumn('public_key_fingerprint', 'text', (c) => c.notNull())
    .addColumn('valid_after', 'bigint', (c) => c.notNull())
    .addColumn('valid_before', 'bigint', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .execute()
  // The KRL's reads: live certificates, by the target of a revocation, by host, and those issued since a sweep.
  await db.schema.createIndex('ssh_certificates_valid_before').on('ssh_certificates').column('valid_before').execute()
  await db.schema.createIndex('ssh_certificates_issued_at').on('ssh_certificates').column('issued_at').execute()
  await db.schema.createIndex('ssh_certificates_task').on('ssh_certificates').column('task_id').execute()
  await db.schema.createIndex('ssh_certificates_agent').on('ssh_certificates').column('agent_id').execute()
  await db.schema.createIndex('ssh_certificates_host').on('ssh_certificates').column('host_name').execute()
}
