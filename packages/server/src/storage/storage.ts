/** The Storage port: repositories over one SQL implementation, and transactions that carry the audit append. */
import type { Kysely } from 'kysely'
import type { Database } from './tables.js'
import { AgentRepository } from './agent-repository.js'
import { AdminRepository } from './admin-repository.js'
import { TokenRepository } from './token-repository.js'
import { AuditRepository } from './audit-repository.js'
import { ApprovalRepository } from './approval-repository.js'
import { PolicySetRepository } from './policy-set-repository.js'
import { GrantRepository } from './grant-repository.js'
import { ResourceServerRepository } from './resource-server-repository.js'
import { RevocationRepository } from './revocation-repository.js'
import { HostRepository } from './host-repository.js'
import { SshCertificateRepository } from './ssh-certificate-repository.js'

export type Driver = 'sqlite' | 'postgres'

/** Repositories bound to one executor: the pool outside a transaction, or the transaction inside one. */
export interface Repositories {
  agents: AgentRepository
  admins: AdminRepository
  tokens: TokenRepository
  audit: AuditRepository
  approvals: ApprovalRepository
  policySets: PolicySetRepository
  grants: GrantRepository
  resourceServers: ResourceServerRepository
  revocations: RevocationRepository
  hosts: HostRepository
  sshCertificates: SshCertificateRepository
}

/** What the token endpoint's group commit writes (tokens/write-issuances.ts), and nothing more. */
export interface IssuanceRepositories {
  tokens: Pick<TokenRepository, 'useAssertions' | 'recordIssued'>
  agents: Pick<AgentRepository, 'statuses'>
  approvals: Pick<ApprovalRepository, 'consume' | 'insert'>
  audit: Pick<AuditRepository, 'append'>
  grants: Pick<GrantRepository, 'live' | 'insert'>
  revocations: Pick<RevocationRepository, 'revokedTasks'>
  sshCertificates: Pick<SshCertificateRepository, 'insert'>
}

export interface Storage extends Repositories {
  readonly driver: Driver
  readonly db: Kysely<Database>
  /** Runs `work` in one transaction; the audit append inside it commits or rolls back with the state it records. */
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T>
  /** Deletes rows that no longer protect anything (expired assertion jtis, revocation events past forget_after). */
  prune(nowMs: number): Promise<void>
  close(): Promise<void>
}

export function repositories(db: Kysely<Database>, driver: Driver): Repositories {
  return {
    agents: new AgentRepository(db),
    admins: new AdminRepository(db, driver),
    tokens: new TokenRepository(db),
    audit: new AuditRepository(db, driver),
    approvals: new ApprovalRepository(db),
    policySets: new PolicySetRepository(db),
    grants: new GrantRepository(db),
    resourceServers: new ResourceServerRepository(db),
    revocations: new RevocationRepository(db, driver),
    hosts: new HostRepository(db),
    sshCertificates: new SshCertificateRepository(db),
  }
}
