/** Row types of Writ's tables, portable across SQLite and PostgreSQL (epoch-ms integers, JSON stored as text). */

export interface AgentsTable {
  id: string
  name: string
  status: string
  version: number
  document: string
  created_at: number
  updated_at: number
}

export interface AgentVersionsTable {
  agent_id: string
  version: number
  status: string
  document: string
  changed_by: string
  changed_at: number
  change: string
}

export interface AdminsTable {
  id: string
  name: string
  roles: string
  token_hash: string
  created_at: number
  disabled_at: number | null
  disabled_by: string | null
  last_used_at: number | null
}

export interface IssuedTokensTable {
  jti: string
  agent_id: string
  task_id: string
  action: string
  resource: string
  audience: string
  issued_at: number
  expires_at: number
  parent_jti: string | null
}

export interface UsedAssertionsTable {
  client_id: string
  jti: string
  expires_at: number
}

export interface AuditEventsTable {
  seq: number
  time: number
  type: string
  record: string
  prev_hash: string
  hash: string
}

export interface AuditHeadTable {
  id: number
  seq: number
  hash: string
}

/** The head the audit self-check last verified (one row). */
export interface AuditVerifiedTable {
  id: number
  seq: number
  hash: string
  verified_at: number
}

export interface PolicySetsTable {
  version: number
  files: string
  hash: string
  created_by: string
  created_at: number
  comment: string
}

export interface ApprovalsTable {
  auth_req_id: string
  agent_id: string
  request: string
  binding: string
  status: string
  approvers: string
  reasons: string
  created_at: number
  expires_at: number
  interval_seconds: number
  last_poll_at: number | null
  decided_by: string | null
  decided_at: number | null
  decision_note: string | null
  token_jti: string | null
}

/** A delegation grant (delegation/); the JWT itself is never stored. */
export interface GrantsTable {
  jti: string
  parent_jti: string | null
  root_jti: string
  /** JSON array of jtis, root first, parent last; empty at the root. */
  ancestors: string
  subject: string
  /** JSON array of the human subject's groups, or null when the subject is an agent. */
  human_groups: string | null
  may_act: string
  /** JSON `act` claim, or null at the root. */
  chain: string | null
  depth: number
  /** JSON array of writ_action objects. */
  details: string
  /** JSON task claim. */
  task: string
  /** `mandate` (admin API), `human` (a human's token exchanged) or `delegation` (narrowed from a parent). */
  kind: string
  created_by: string
  created_at: number
  expires_at: number
  revoked_at: number | null
  revoked_by: string | null
}

/** A registered resource server (resource-servers/); `document` is its JSON document, `audience` copied out for lookups. */
export interface ResourceServersTable {
  id: string
  name: string
  audience: string
  status: string
  version: number
  document: string
  created_at: number
  updated_at: number
}

export interface ResourceServerVersionsTable {
  resource_server_id: string
  version: number
  status: string
  document: string
  changed_by: string
  changed_at: number
  change: string
}

/** One revocation (revocation/); kept, so the control plane refuses a revoked task for good. Times in epoch ms. */
export interface RevocationsTable {
  id: string
  kind: string
  target: string
  covers: string
  reason: string
  actor: string
  revoked_at: number
  forget_after: number
}

/** One revocation event as the stream sends it; times in epoch ms, pruned after `forget_after`. */
export interface RevocationEventsTable {
  event_id: number
  revocation_id: string
  kind: string
  value: string
  iss: string
  revoked_at: number
  forget_after: number
}

/** An enrolled host (hosts/); labels and its client key as JSON text. */
export interface HostsTable {
  id: string
  name: string
  labels: string
  ssh_host_public_key: string
  client_jwk: string
  status: string
  version: number
  join_token_id: string
  created_at: number
  updated_at: number
}

export interface HostVersionsTable {
  host_id: string
  version: number
  status: string
  labels: string
  changed_by: string
  changed_at: number
  change: string
}

/** A one-time join token: only the SHA-256 of its secret is kept. */
export interface HostJoinTokensTable {
  id: string
  secret_hash: string
  labels: string
  name: string | null
  expires_at: number
  spent_at: number | null
  host_id: string | null
  created_by: string
  created_at: number
}

export interface HostActionReportsTable {
  id: string
  host_id: string
  jti: string
  received_at: number
}

/** An SSH certificate Writ issued (ssh/); times in epoch ms, `serial` a uint64 in decimal. */
export interface SshCertificatesTable {
  serial: string
  kind: string
  key_id: string
  jti: string | null
  host_name: string
  iss: string | null
  agent_id: string | null
  subject: string | null
  task_id: string | null
  parent: string | null
  /** JSON `act` claim of the token, or null. */
  act: string | null
  kid: string | null
  token_iat: number | null
  principals: string
  public_key_fingerprint: string
  valid_after: number
  valid_before: number
  issued_at: number
}

export interface Database {
  agents: AgentsTable
  agent_versions: AgentVersionsTable
  admins: AdminsTable
  issued_tokens: IssuedTokensTable
  used_assertions: UsedAssertionsTable
  audit_events: AuditEventsTable
  audit_head: AuditHeadTable
  audit_verified: AuditVerifiedTable
  policy_sets: PolicySetsTable
  approvals: ApprovalsTable
  grants: GrantsTable
  resource_servers: ResourceServersTable
  resource_server_versions: ResourceServerVersionsTable
  revocations: RevocationsTable
  revocation_events: RevocationEventsTable
  hosts: HostsTable
  host_versions: HostVersionsTable
  host_join_tokens: HostJoinTokensTable
  host_action_reports: HostActionReportsTable
  ssh_certificates: SshCertificatesTable
}
