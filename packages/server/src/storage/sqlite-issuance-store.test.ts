import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Agent } from '../agents/agent-document.js'
import { verifyChain } from '../audit/verify-chain.js'
import type { Approval } from '../oversight/approval.js'
import type { Grant } from '../delegation/grant.js'
import { writeIssuances, type IssuanceEntry } from '../tokens/write-issuances.js'
import { openSqliteDatabase } from './open-sqlite-database.js'
import { openStorage } from './open-storage.js'
import { SqliteIssuanceStore } from './sqlite-issuance-store.js'
import type { Storage } from './storage.js'

const NOW = Date.UTC(2026, 11, 1, 12)
const dirs: string[] = []
afterEach(() => { for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true }) })

const agent = (id: string, status: Agent['status'] = 'active'): Agent => ({
  id, name: id, status, version: 1, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
  document: { name: id, owner: 'a@example.com', team: 't', platform: 'custom', description: '', capabilities: [], data_access: [], tools: [], human_oversight: { required_for: [], approvers: [] }, jwks: { keys: [] } },
})

const approval = (authReqId: string, status: Approval['status'], expiresAt: number): Approval => ({
  authReqId, agentId: 'agt_a', request: { action: { type: 'writ_action', action: 'deploy.run', resource: 'service:billing' }, task: { id: 'T-1' }, audience: 'urn:writ:rs' },
  binding: 'b'.repeat(64), status, approvers: ['sre'], reasons: ['oversight:deploy.run'], createdAt: NOW - 60_000, expiresAt,
  intervalSeconds: 5, lastPollAt: null, decidedBy: status === 'approved' ? 'adm_1' : null, decidedAt: status === 'approved' ? NOW - 1_000 : null,
  decisionNote: null, tokenJti: null,
})

/** A migrated file holding the same agents and approvals for both writers. */
async function seededFile(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'writ-issuance-store-'))
  dirs.push(dir)
  const path = join(dir, 'writ.db')
  const storage = await openStorage({ driver: 'sqlite', sqlitePath: path })
  await storage.agents.insert(agent('agt_a'))
  await storage.agents.insert(agent('agt_s', 'suspended'))
  await storage.agents.insert({ ...agent('agt_v'), version: 2 })
  await storage.approvals.insert(approval('req_ok', 'approved', NOW + 60_000))
  await storage.approvals.insert(approval('req_old', 'approved', NOW - 1))
  await storage.grants.insert(grant('g_live'))
  await storage.grants.insert(grant('g_rev'))
  await storage.grants.revoke('g_rev', 'admin:adm_1', NOW - 1_000)
  await storage.revocations.insert({
    id: 'rev_1', kind: 'task', target: 'T-dead', covers: {}, reason: 'test', actor: { kind: 'admin', id: 'adm_1' },
    revokedAt: NOW - 1_000, forgetAfter: NOW + 960_000,
  })
  await storage.close()
  return path
}

const grant = (jti: string, parent?: Grant): Grant => ({
  jti, parentJti: parent?.jti ?? null, rootJti: parent?.rootJti ?? jti, ancestors: parent ? [...parent.ancestors, parent.jti] : [],
  subject: 'alice@example.com', human: { groups: ['sre'] }, mayAct: 'agt_a', act: parent ? { sub: 'agt_b' } : undefined, depth: parent ? 2 : 1,
  details: [{ type: 'writ_action', action: 'tests.run', resource: 'repo:*' }], task: { id: 'T-1' }, kind: parent ? 'delegation' : 'mandate',
  createdBy: 'admin:adm_1', createdAt: NOW - 60_000, expiresAt: NOW + 3_600_000, revokedAt: null, revokedBy: null,
})

const issue = (agentId: string, jti: string, assertionJti: string, version = 1): IssuanceEntry => ({
  assertion: { clientId: agentId, jti: assertionJti, expiresAtMs: NOW + 120_000 },
  agent: { id: agentId, version },
  token: { jti, agent_id: agentId, task_id: 'T-1', action: 'tests.run', resource: 'repo:acme/billing', audience: 'urn:writ:rs', issued_at: NOW, expires_at: NOW + 300_000, parent_jti: null },
  audit: { type: 'token.issue', actor: { kind: 'agent', id: agentId }, task: { id: 'T-1' }, action: 'tests.run', resource: 'repo:acme/billing', decision: { effect: 'allow', reasons: ['policy_permit:default'] }, token: { jti, exp: NOW / 1000 + 300 } },
})

// Every path of writeIssuances: fresh, replayed in a batch and across batches, a suspended agent, a changed version,
// a hold, an approval spent, an expired approval, a denial and an authentication failure (no assertion).
const BATCHES: IssuanceEntry[][] = [
  [issue('agt_a', 'tok_1', 'as_1'), issue('agt_a', 'tok_2', 'as_1'), issue('agt_s', 'tok_3', 'as_2'), issue('agt_v', 'tok_4', 'as_3', 1)],
  [
    issue('agt_a', 'tok_5', 'as_1'),
    { ...issue('agt_a', 'tok_6', 'as_4'), spendApproval: { authReqId: 'req_ok' } },
    { ...issue('agt_a', 'tok_7', 'as_5'), spendApproval: { authReqId: 'req_old' } },
    { assertion: { clientId: 'agt_a', jti: 'as_6', expiresAtMs: NOW + 120_000 }, agent: { id: 'agt_a', version: 1 }, hold: approval('req_new', 'pending', NOW + 600_000), audit: { type: 'token.hold', actor: { kind: 'agent', id: 'agt_a' } } },
    { assertion: { clientId: 'agt_a', jti: 'as_7', expiresAtMs: NOW + 120_000 }, audit: { type: 'token.deny', actor: { kind: 'agent', id: 'agt_a' }, decision: { effect: 'deny', reasons: ['boundary'] } } },
    { audit: { type: 'client.authentication_fail', actor: { kind: 'agent', id: 'unknown' }, decision: { effect: 'deny', reasons: ['bad_signature'] } } },
  ],
  [{ ...issue('agt_a', 'tok_8', 'as_8'), spendApproval: { authReqId: 'req_ok' } }],
  // A DPoP proof jti spent with the assertion, replayed in the same batch and in the next one.
  [withProof(issue('agt_a', 'tok_20', 'as_20'), 'proof_1'), withProof(issue('agt_a', 'tok_21', 'as_21'), 'proof_1')],
  [withProof(issue('agt_a', 'tok_22', 'as_22'), 'proof_1')],
  // Delegation: a live chain, a revoked or unknown grant in it, a suspended agent in it, and a grant issued.
  [
    { ...issue('agt_a', 'tok_9', 'as_9'), delegation: { grants: ['g_live'], agents: ['agt_a'] } },
    { ...issue('agt_a', 'tok_10', 'as_10'), delegation: { grants: ['g_live', 'g_rev'], agents: [] } },
    { ...issue('agt_a', 'tok_11', 'as_11'), delegation: { grants: ['g_missing'], agents: [] } },
    { ...issue('agt_a', 'tok_12', 'as_12'), delegation: { grants: ['g_live'], agents: ['agt_s'] } },
    {
      assertion: { clientId: 'agt_a', jti: 'as_13', expiresAtMs: NOW + 120_000 }, agent: { id: 'agt_a', version: 1 },
      delegation: { grants: ['g_live'], agents: [] }, grant: grant('g_child', grant('g_live')),
      audit: { type: 'delegation.create', actor: { kind: 'agent', id: 'agt_a' }, token: { jti: 'g_child', exp: NOW / 1000 + 3_600 } },
    },
    {
      assertion: { clientId: 'agt_a', jti: 'as_14', expiresAtMs: NOW + 120_000 }, agent: { id: 'agt_a', version: 1 },
      delegation: { grants: ['g_rev'], agents: [] }, grant: grant('g_child2', grant('g_rev')),
      audit: { type: 'delegation.create', actor: { kind: 'agent', id: 'agt_a' }, token: { jti: 'g_child2', exp: NOW / 1000 + 3_600 } },
    },
  ],
  // A revoked task: no token, hold or grant for it; another task in the same batch is unaffected.
  [
    forTask(issue('agt_a', 'tok_30', 'as_30'), 'T-dead'),
    { assertion: { clientId: 'agt_a', jti: 'as_31', expiresAtMs: NOW + 120_000 }, agent: { id: 'agt_a', version: 1 }, hold: { ...approval('req_dead', 'pending', NOW + 600_000), request: { ...approval('req_dead', 'pending', 0).request, task: { id: 'T-dead' } } }, audit: { type: 'token.hold', actor: { kind: 'agent', id: 'agt_a' } } },
    {
      assertion: { clientId: 'agt_a', jti: 'as_32', expiresAtMs: NOW + 120_000 }, agent: { id: 'agt_a', version: 1 },
      delegation: { grants: ['g_live'], agents: [] }, grant: { ...grant('g_dead', grant('g_live')), task: { id: 'T-dead' } },
      audit: { type: 'delegation.create', actor: { kind: 'agent', id: 'agt_a' }, token: { jti: 'g_dead', exp: NOW / 1000 + 3_600 } },
    },
    issue('agt_a', 'tok_33', 'as_33'),
  ],
]

function forTask(entry: IssuanceEntry, taskId: string): IssuanceEntry {
  return { ...entry, token: { ...entry.token!, task_id: taskId } }
}

function withProof(entry: IssuanceEntry, jti: string): IssuanceEntry {
  return { ...entry, assertion: { ...entry.assertion!, dpop: { jkt: 'jkt_1', jti, expiresAtMs: NOW + 61_000 } } }
}

async function tables(path: string): Promise<Record<string, unknown[]>> {
  const db = openSqliteDatabase(path)
  try {
    const rows = (sql: string) => db.prepare(sql).all()
    return {
      used_assertions: rows('select * from used_assertions order by client_id, jti'),
      issued_tokens: rows('select * from issued_tokens order by jti'),
      approvals: rows('select * from approvals order by auth_req_id'),
      audit_events: rows('select * from audit_events order by seq'),
      audit_head: rows('select * from audit_head'),
      grants: rows('select * from grants order by jti'),
    }
  } finally {
    db.close()
  }
}

describe('SqliteIssuanceStore', () => {
  it('gives writeIssuances the same outcomes and leaves the same rows as the Kysely repositories', async () => {
    const viaKysely = await seededFile()
    const viaStatements = await seededFile()

    const storage: Storage = await openStorage({ driver: 'sqlite', sqlitePath: viaKysely, migrate: false })
    const kyselyOutcomes = []
    for (const batch of BATCHES) kyselyOutcomes.push(await storage.transaction((tx) => writeIssuances(tx, structuredClone(batch), NOW)))
    await storage.close()

    const db = openSqliteDatabase(viaStatements)
    const store = new SqliteIssuanceStore(db)
    const storeOutcomes = []
    for (const batch of BATCHES) storeOutcomes.push(await store.transaction((tx) => writeIssuances(tx, structuredClone(batch), NOW)))
    db.close()

    expect(storeOutcomes).toEqual([
      ['committed', 'assertion_replayed', 'agent_not_active', 'agent_changed'],
      ['assertion_replayed', 'committed', 'approval_unavailable', 'committed', 'committed', 'committed'],
      ['approval_unavailable'],
      ['committed', 'dpop_proof_replayed'],
      ['dpop_proof_replayed'],
      ['committed', 'grant_revoked', 'grant_revoked', 'delegation_agent_not_active', 'committed', 'grant_revoked'],
      ['task_revoked', 'task_revoked', 'task_revoked', 'committed'],
    ])
    expect(storeOutcomes).toEqual(kyselyOutcomes)
    const [a, b] = [await tables(viaKysely), await tables(viaStatements)]
    expect(b).toEqual(a)
    expect((b.audit_events as unknown[]).length).toBe(24)
    expect(b.used_assertions).toContainEqual({ client_id: 'dpop:jkt_1', jti: 'proof_1', expires_at: NOW + 61_000 })
    expect((b.grants as Array<{ jti: string }>).map((g) => g.jti)).toEqual(['g_child', 'g_live', 'g_rev'])
    expect((b.audit_events as Array<{ type: string }>).slice(-2)[0]?.type).toBe('delegation.deny')

    const reopened = await openStorage({ driver: 'sqlite', sqlitePath: viaStatements, migrate: false })
    await expect(verifyChain(reopened.audit)).resolves.toMatchObject({ ok: true, count: 24 })
    await reopened.close()
  })

  it('rolls the whole batch back when a statement fails: no rows, the head where it was', async () => {
    const path = await seededFile()
    const db = openSqliteDatabase(path)
    const store = new SqliteIssuanceStore(db)
    await store.transaction((tx) => writeIssuances(tx, [issue('agt_a', 'tok_1', 'as_1')], NOW))
    const before = await tables(path)
    // The same token id again violates the issued_tokens primary key after the assertion and status steps ran.
    await expect(store.transaction((tx) => writeIssuances(tx, [issue('agt_a', 'tok_1', 'as_2')], NOW))).rejects.toThrow(/UNIQUE/)
    expect(db.inTransaction).toBe(false)
    expect(await tables(path)).toEqual(before)
    db.close()
  })
})
