/**
 * The group commit's statements on SQLite, prepared once on the commit thread's own connection. They are the same
 * statements the Kysely repositories run for writeIssuances (tokens/write-issuances.ts), without building and
 * compiling each query for every batch (bench:commit: 235 against 426 µs of CPU for a one-token batch). The
 * differential test (sqlite-issuance-store.test.ts) runs writeIssuances through both and requires identical rows.
 */
import type BetterSqlite3 from 'better-sqlite3'
import { sealAfter, type AuditEvent, type AuditRecord } from '../audit/audit-record.js'
import type { AgentStatus } from '../agents/agent-document.js'
import type { Approval } from '../oversight/approval.js'
import { approvalRow } from './approval-repository.js'
import { grantRow } from './grant-repository.js'
import type { IssuanceRepositories } from './storage.js'
import type { IssuedTokenRow } from './token-repository.js'

const COLUMNS = {
  issued: ['jti', 'agent_id', 'task_id', 'action', 'resource', 'audience', 'issued_at', 'expires_at', 'parent_jti'],
  approvals: [
    'auth_req_id', 'agent_id', 'request', 'binding', 'status', 'approvers', 'reasons', 'created_at', 'expires_at',
    'interval_seconds', 'last_poll_at', 'decided_by', 'decided_at', 'decision_note', 'token_jti',
  ],
  grants: [
    'jti', 'parent_jti', 'root_jti', 'ancestors', 'subject', 'human_groups', 'may_act', 'chain', 'depth', 'details', 'task', 'kind',
    'created_by', 'created_at', 'expires_at', 'revoked_at', 'revoked_by',
  ],
  sshCertificates: [
    'serial', 'kind', 'key_id', 'jti', 'host_name', 'iss', 'agent_id', 'subject', 'task_id', 'parent', 'act', 'kid', 'token_iat',
    'principals', 'public_key_fingerprint', 'valid_after', 'valid_before', 'issued_at',
  ],
} as const

const insertSql = (table: string, columns: readonly string[]): string =>
  `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`

export class SqliteIssuanceStore {
  private readonly statements: ReturnType<typeof prepare>
  /** The repositories writeIssuances uses, bound to this connection. Their promises are already settled when returned. */
  readonly repositories: IssuanceRepositories

  constructor(private readonly db: BetterSqlite3.Database) {
    const s = prepare(db)
    this.statements = s
    this.repositories = {
      tokens: {
        async useAssertions(rows) {
          // INVARIANT as in TokenRepository: the (client_id, jti) key lets exactly one use of a jti insert its row.
          const fresh = new Set<string>()
          for (const row of rows) if (s.useAssertion.run(row.client_id, row.jti, row.expires_at).changes === 1) fresh.add(`${row.client_id} ${row.jti}`)
          return fresh
        },
        async recordIssued(rows: readonly IssuedTokenRow[]) {
          for (const row of rows) s.recordIssued.run(row)
        },
      },
      agents: {
        async statuses(ids) {
          const found = new Map<string, { status: AgentStatus; version: number }>()
          for (const id of ids) {
            const row = s.agentStatus.get(id) as { status: AgentStatus; version: number } | undefined
            if (row !== undefined) found.set(id, { status: row.status, version: row.version })
          }
          return found
        },
      },
      approvals: {
        async consume(authReqId, jti, nowMs) {
          return s.consumeApproval.run(jti, authReqId, nowMs).changes === 1
        },
        async insert(approval: Approval) {
          s.insertApproval.run(approvalRow(approval))
        },
      },
      grants: {
        async live(jtis) {
          const found = new Set<string>()
          for (const jti of jtis) if (s.grantLive.get(jti) !== undefined) found.add(jti)
          return found
        },
        async insert(grant) {
          s.insertGrant.run(grantRow(grant))
        },
      },
      revocations: {
        async revokedTasks(taskIds) {
          const found = new Set<string>()
          for (const id of taskIds) if (s.taskRevoked.get(id) !== undefined) found.add(id)
          return found
        },
      },
      sshCertificates: {
        async insert(rows) {
          for (const row of rows) s.insertSshCertificate.run(row)
        },
      },
      audit: {
        async append(events: readonly AuditEvent[], timeMs: number): Promise<AuditRecord[]> {
          if (events.length === 0) return []
          const head = s.auditHead.get() as { seq: number; hash: string }
          const { sealed, head: next } = sealAfter({ seq: Number(head.seq), hash: head.hash }, events, timeMs)
          for (const { record: r, json } of sealed) s.appendAudit.run(r.seq, timeMs, r.type, json, r.prev_hash, r.hash)
          s.moveAuditHead.run(next.seq, next.hash)
          return sealed.map((x) => x.record)
        },
      },
    }
  }

  /**
   * Runs `work` in one BEGIN IMMEDIATE transaction (the write lock up front, as the Kysely path takes it). Every
   * statement here is synchronous, so nothing else runs on this connection between BEGIN and COMMIT.
   */
  async transaction<T>(work: (tx: IssuanceRepositories) => Promise<T>): Promise<T> {
    this.statements.begin.run()
    try {
      const result = await work(this.repositories)
      this.statements.commit.run()
      return result
    } catch (error) {
      if (this.db.inTransaction) this.statements.rollback.run()
      throw error
    }
  }
}

function prepare(db: BetterSqlite3.Database) {
  return {
    begin: db.prepare('begin immediate'),
    commit: db.prepare('commit'),
    rollback: db.prepare('rollback'),
    useAssertion: db.prepare('insert into "used_assertions" ("client_id", "jti", "expires_at") values (?, ?, ?) on conflict ("client_id", "jti") do nothing'),
    agentStatus: db.prepare('select "status", "version" from "agents" where "id" = ?'),
    recordIssued: db.prepare(insertSql('issued_tokens', COLUMNS.issued)),
    consumeApproval: db.prepare(`update "approvals" set "status" = 'consumed', "token_jti" = ? where "auth_req_id" = ? and "status" = 'approved' and "expires_at" > ?`),
    insertApproval: db.prepare(insertSql('approvals', COLUMNS.approvals)),
    grantLive: db.prepare('select "jti" from "grants" where "jti" = ? and "revoked_at" is null'),
    insertGrant: db.prepare(insertSql('grants', COLUMNS.grants)),
    insertSshCertificate: db.prepare(insertSql('ssh_certificates', COLUMNS.sshCertificates)),
    taskRevoked: db.prepare(`select 1 from "revocations" where "kind" = 'task' and "target" = ? limit 1`),
    auditHead: db.prepare('select "seq", "hash" from "audit_head" where "id" = 1'),
    appendAudit: db.prepare('insert into "audit_events" ("seq", "time", "type", "record", "prev_hash", "hash") values (?, ?, ?, ?, ?, ?)'),
    moveAuditHead: db.prepare('update "audit_head" set "seq" = ?, "hash" = ? where "id" = 1'),
  }
}
