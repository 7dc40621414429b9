/** The contract every Storage must pass, run against SQLite :memory: and against PostgreSQL. */
import { describe, expect, it, beforeEach, afterEach } from 'vitest'
import type { Storage } from './storage.js'
import type { Agent } from '../agents/agent-document.js'
import { verifyChain } from '../audit/verify-chain.js'
import { GENESIS_HASH } from '../audit/audit-record.js'
import { writeIssuances, type IssuanceEntry } from '../tokens/write-issuances.js'
import type { Grant } from '../delegation/grant.js'
import type { ResourceServer } from '../resource-servers/resource-server-document.js'
import type { Host } from '../hosts/host.js'

export function storageContract(name: string, open: () => Promise<{ storage: Storage; dispose(): Promise<void> }>): void {
  describe(`storage contract: ${name}`, () => {
    let storage: Storage
    let dispose: () => Promise<void>
    beforeEach(async () => ({ storage, dispose } = await open()))
    afterEach(async () => dispose())

    const agent = (id: string, name: string): Agent => ({
      id, name, status: 'active', version: 1, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
      document: { name, owner: 'a@example.com', team: 't', platform: 'custom', description: '', capabilities: [], data_access: [], tools: [], human_oversight: { required_for: [], approvers: [] }, jwks: { keys: [] } },
    })

    it('stores and finds an agent by id and by name', async () => {
      await storage.agents.insert(agent('00000000-0000-4000-8000-000000000001', 'one'))
      expect((await storage.agents.find('00000000-0000-4000-8000-000000000001'))?.name).toBe('one')
      expect((await storage.agents.findByName('one'))?.id).toBe('00000000-0000-4000-8000-000000000001')
      expect(await storage.agents.find('missing')).toBeUndefined()
    })

    it('refuses a second agent with the same name', async () => {
      await storage.agents.insert(agent('00000000-0000-4000-8000-000000000001', 'one'))
      await expect(storage.agents.insert(agent('00000000-0000-4000-8000-000000000002', 'one'))).rejects.toThrow()
    })

    it('updates an agent only from the expected version', async () => {
      const a = agent('00000000-0000-4000-8000-000000000001', 'one')
      await storage.agents.insert(a)
      expect(await storage.agents.update({ ...a, version: 2, status: 'suspended' }, 1)).toBe(true)
      expect(await storage.agents.update({ ...a, version: 3 }, 1)).toBe(false)
      expect(await storage.agents.statuses([a.id])).toEqual(new Map([[a.id, { status: 'suspended', version: 2 }]]))
    })

    it('stores resource servers with unique names and audiences, updates them optimistically and keeps their versions', async () => {
      const server: ResourceServer = {
        id: '00000000-0000-4000-8000-0000000000a1', name: 'billing-api', audience: 'https://billing.example.com', status: 'active', version: 1,
        created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
        document: { name: 'billing-api', audience: 'https://billing.example.com', description: '', jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x', kid: 'k1' }] } },
      }
      await storage.resourceServers.insert(server)
      expect(await storage.resourceServers.find(server.id)).toEqual(server)
      expect((await storage.resourceServers.findByName('billing-api'))?.id).toBe(server.id)
      expect((await storage.resourceServers.findByAudience('https://billing.example.com'))?.id).toBe(server.id)
      expect(await storage.resourceServers.findByAudience('https://other.example.com')).toBeUndefined()
      await expect(storage.resourceServers.insert({ ...server, id: '00000000-0000-4000-8000-0000000000a2', name: 'other' })).rejects.toThrow()
      await expect(storage.resourceServers.insert({ ...server, id: '00000000-0000-4000-8000-0000000000a3', audience: 'urn:other' })).rejects.toThrow()
      expect(await storage.resourceServers.update({ ...server, version: 2, status: 'removed' }, 1)).toBe(true)
      expect(await storage.resourceServers.update({ ...server, version: 3 }, 1)).toBe(false)
      await storage.resourceServers.insertVersion({
        resource_server_id: server.id, version: 1, status: 'active', document: server.document, changed_by: 'adm-1',
        changed_at: server.created_at, change: { kind: 'register', fields: ['name'] },
      })
      expect(await storage.resourceServers.versions(server.id)).toMatchObject([{ version: 1, change: { kind: 'register' } }])
      expect((await storage.resourceServers.list()).map((s) => [s.name, s.status])).toEqual([['billing-api', 'removed']])
    })

    it('stores hosts with unique names, spends a join token once under concurrency, and records an action report id once', async () => {
      const host: Host = {
        id: '00000000-0000-4000-8000-0000000000b1', name: 'web-1', labels: { env: 'prod' }, ssh_host_public_key: 'ssh-ed25519 AAAA',
        client_jwk: { kty: 'OKP', crv: 'Ed25519', x: 'x', kid: 'k1' }, status: 'active', version: 1, join_token_id: 'j1',
        created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
      }
      await storage.hosts.insert(host)
      expect(await storage.hosts.find(host.id)).toEqual(host)
      expect((await storage.hosts.findByName('web-1'))?.id).toBe(host.id)
      await expect(storage.hosts.insert({ ...host, id: '00000000-0000-4000-8000-0000000000b2' })).rejects.toThrow()
      expect(await storage.hosts.update({ ...host, version: 2, labels: {} }, 1)).toBe(true)
      expect(await storage.hosts.update({ ...host, version: 3 }, 1)).toBe(false)
      await storage.hosts.insertVersion({ host_id: host.id, version: 1, status: 'active', labels: host.labels, changed_by: 'join_token:j1', changed_at: host.created_at, change: { kind: 'enroll', fields: ['labels'] } })
      expect(await storage.hosts.versions(host.id)).toMatchObject([{ version: 1, labels: { env: 'prod' }, change: { kind: 'enroll' } }])
      await storage.hosts.insertJoinToken({ id: 'j1', secret_hash: 'ab', labels: { env: 'prod' }, name: null, expires_at: 5_000, spent_at: null, host_id: null, created_by: 'adm', created_at: 1 })
      expect(await storage.hosts.findJoinToken('j1')).toMatchObject({ labels: { env: 'prod' }, spent_at: null })
      expect(await storage.hosts.spendJoinToken('j1', host.id, 5_000)).toBe(false)
      const spent = await Promise.all(Array.from({ length: 8 }, () => storage.transaction((tx) => tx.hosts.spendJoinToken('j1', host.id, 1_000))))
      expect(spent.filter(Boolean)).toHaveLength(1)
      const recorded = await Promise.all(Array.from({ length: 5 }, () => storage.transaction((tx) => tx.hosts.recordActionReport({ id: 'r1', host_id: host.id, jti: 'j', received_at: 1 }))))
      expect(recorded.filter(Boolean)).toHaveLength(1)
    })

    it('starts the audit chain at the genesis hash and links every append', async () => {
      expect(await storage.audit.head()).toEqual({ seq: 0, hash: GENESIS_HASH })
      const first = await storage.transaction((tx) => tx.audit.append([{ type: 'test.one', actor: { kind: 'system', id: 's' } }], 1_000))
      const second = await storage.transaction((tx) => tx.audit.append([
        { type: 'test.two', actor: { kind: 'system', id: 's' } }, { type: 'test.three', actor: { kind: 'system', id: 's' } },
      ], 2_000))
      expect(first[0]?.prev_hash).toBe(GENESIS_HASH)
      expect(second[0]?.prev_hash).toBe(first[0]?.hash)
      expect(second[1]?.seq).toBe(3)
      expect(await storage.audit.head()).toEqual({ seq: 3, hash: second[1]?.hash })
      expect(await verifyChain(storage.audit)).toMatchObject({ ok: true, count: 3 })
    })

    it('rolls back the audit append with the transaction that failed', async () => {
      await expect(storage.transaction(async (tx) => {
        await tx.audit.append([{ type: 'test.one', actor: { kind: 'system', id: 's' } }], 1_000)
        throw new Error('boom')
      })).rejects.toThrow('boom')
      expect((await storage.audit.head()).seq).toBe(0)
      expect(await storage.audit.tail(10)).toEqual([])
    })

    it('serialises concurrent appenders into one chain without gaps or forks', async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => storage.transaction((tx) =>
        tx.audit.append([{ type: 'test.concurrent', actor: { kind: 'system', id: String(i) } }], 1_000 + i))))
      expect(await verifyChain(storage.audit)).toMatchObject({ ok: true, count: 20 })
    })

    it('lets exactly one use of an assertion jti win, and prunes expired ones', async () => {
      const won = await Promise.all(Array.from({ length: 10 }, () => storage.transaction((tx) =>
        tx.tokens.useAssertions([{ client_id: 'c', jti: 'j', expires_at: 5_000 }]))))
      expect(won.filter((set) => set.has('c j'))).toHaveLength(1)
      const both = await storage.tokens.useAssertions([{ client_id: 'c', jti: 'k', expires_at: 9_000 }, { client_id: 'c', jti: 'k', expires_at: 9_000 }])
      expect([...both]).toEqual(['c k'])
      await storage.prune(6_000)
      expect((await storage.tokens.useAssertions([{ client_id: 'c', jti: 'j', expires_at: 5_000 }])).size).toBe(1)
    })

    it('prunes expired replay rows a chunk at a time and keeps live ones', async () => {
      await storage.tokens.useAssertions(Array.from({ length: 5 }, (_, i) => ({ client_id: 'p', jti: `old-${i}`, expires_at: 1_000 })))
      await storage.tokens.useAssertions([{ client_id: 'p', jti: 'live', expires_at: 9_000 }])
      expect(await storage.tokens.pruneAssertions(2_000, 2)).toBe(2)
      await storage.prune(2_000)
      expect(await storage.tokens.pruneAssertions(2_000, 2)).toBe(0)
      expect((await storage.tokens.useAssertions([{ client_id: 'p', jti: 'old-0', expires_at: 1_000 }])).size).toBe(1)
      expect((await storage.tokens.useAssertions([{ client_id: 'p', jti: 'live', expires_at: 9_000 }])).size).toBe(0)
    })

    it('spends a DPoP proof jti once across concurrent batches, scoped by its key, beside the assertion jtis', async () => {
      const entry = (assertionJti: string, jkt: string): IssuanceEntry => ({
        assertion: { clientId: 'agent-1', jti: assertionJti, expiresAtMs: 5_000, dpop: { jkt, jti: 'proof-1', expiresAtMs: 5_000 } },
      })
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => storage.transaction((tx) => writeIssuances(tx, [entry(`a-${i}`, 'k1')], 1_000))))
      expect(outcomes.flat().filter((o) => o === 'committed')).toHaveLength(1)
      expect(outcomes.flat().filter((o) => o === 'dpop_proof_replayed')).toHaveLength(7)
      // The same proof jti under another key is another proof.
      expect(await storage.transaction((tx) => writeIssuances(tx, [entry('a-9', 'k2')], 1_000))).toEqual(['committed'])
      await storage.prune(6_000)
      expect(await storage.transaction((tx) => writeIssuances(tx, [entry('a-10', 'k1')], 6_000))).toEqual(['committed'])
    })

    it('records issued tokens by jti', async () => {
      await storage.tokens.recordIssued([{ jti: 'x', agent_id: 'a', task_id: 't', action: 'a.b', resource: 'r', audience: 'aud', issued_at: 1, expires_at: 2, parent_jti: null }])
      expect(await storage.tokens.findIssued('x')).toMatchObject({ jti: 'x', expires_at: 2 })
      expect(await storage.tokens.countIssued()).toBe(1)
    })
    it('stores delegation grants, lists them, revokes each once, and reports the live ones of a chain', async () => {
      const root: Grant = {
        jti: 'g-root', parentJti: null, rootJti: 'g-root', ancestors: [], subject: 'alice@example.com', human: { groups: ['sre'] },
        mayAct: 'agt-a', act: undefined, depth: 1, details: [{ type: 'writ_action', action: 'deploy.run', resource: 'service:*' }],
        task: { id: 'T-9' }, kind: 'mandate', createdBy: 'admin:adm-1', createdAt: 1_000, expiresAt: 9_000, revokedAt: null, revokedBy: null,
      }
      const child: Grant = {
        ...root, jti: 'g-child', parentJti: 'g-root', ancestors: ['g-root'], mayAct: 'agt-b', act: { sub: 'agt-a' }, depth: 2,
        details: [{ type: 'writ_action', action: 'deploy.run', resource: 'service:billing', parameters: { env: 'prod' } }], kind: 'delegation', createdBy: 'agent:agt-a', createdAt: 2_000,
      }
      await storage.transaction(async (tx) => { await tx.grants.insert(root); await tx.grants.insert(child) })
      expect(await storage.grants.find('g-child')).toEqual(child)
      expect(await storage.grants.find('g-root')).toEqual(root)
      expect(await storage.grants.find('missing')).toBeUndefined()
      expect((await storage.grants.list({ root: 'g-root', limit: 10 })).map((g) => g.jti)).toEqual(['g-child', 'g-root'])
      expect((await storage.grants.list({ kind: 'mandate', limit: 10 })).map((g) => g.jti)).toEqual(['g-root'])
      expect((await storage.grants.list({ mayAct: 'agt-b', subject: 'alice@example.com', limit: 10 })).map((g) => g.jti)).toEqual(['g-child'])
      expect(await storage.grants.live(['g-root', 'g-child', 'missing'])).toEqual(new Set(['g-root', 'g-child']))
      const revoked = await Promise.all(Array.from({ length: 5 }, () => storage.transaction((tx) => tx.grants.revoke('g-root', 'admin:adm-1', 5_000))))
      expect(revoked.filter(Boolean)).toHaveLength(1)
      expect(await storage.grants.find('g-root')).toMatchObject({ revokedAt: 5_000, revokedBy: 'admin:adm-1' })
      expect(await storage.grants.live(['g-root', 'g-child'])).toEqual(new Set(['g-child']))
      expect(await storage.grants.revoke('missing', 'admin:adm-1', 5_000)).toBe(false)
    })

    it('stores revocations and their events: ids after the audit append in commit order, live reads, task lookups, pruning', async () => {
      const revoke = (i: number, forgetAfterS: number) => storage.transaction(async (tx) => {
        await tx.audit.append([{ type: 'revocation.create', actor: { kind: 'admin', id: 'a' } }], 1_000)
        const events = await tx.revocations.appendEvents(`r-${i}`, [{ kind: 'task', iss: 'https://i', task_id: `T-${i}`, revoked_at: 1, forget_after: forgetAfterS }])
        await tx.revocations.insert({ id: `r-${i}`, kind: 'task', target: `T-${i}`, covers: { task_id: `T-${i}` }, reason: 'why', actor: { kind: 'admin', id: 'a' }, revokedAt: 1_000, forgetAfter: forgetAfterS * 1000 })
        return events[0]?.eventId
      })
      const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => revoke(i, i < 3 ? 5 : 50)))
      expect([...ids].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([1, 2, 3, 4, 5, 6])
      expect(await storage.revocations.lastEventId()).toBe(6)
      const live = await storage.revocations.eventsAfter(0, 10_000, 100)
      expect(live.map((e) => e.eventId)).toEqual(ids.filter((_, i) => i >= 3).sort())
      expect(live[0]?.event).toMatchObject({ kind: 'task', iss: 'https://i', revoked_at: 1, forget_after: 50 })
      expect((await storage.revocations.eventsAfter(5, 0, 100)).map((e) => e.eventId)).toEqual([6])
      expect(await storage.revocations.revokedTasks(['T-0', 'T-5', 'T-9'])).toEqual(new Set(['T-0', 'T-5']))
      expect((await storage.revocations.list({ limit: 2 })).map((r) => r.id)).toEqual(['r-5', 'r-4'])
      expect((await storage.revocations.list({ limit: 10, before: 'r-2' })).map((r) => r.id)).toEqual(['r-1', 'r-0'])
      // Everything past forget_after goes, except the newest event, which carries the id high-water mark.
      expect(await storage.revocations.pruneEvents(100_000, 1_000)).toBe(5)
      expect(await storage.revocations.lastEventId()).toBe(6)
      expect(await storage.revocations.revokedTasks(['T-0'])).toEqual(new Set(['T-0']))
    })
  })
}
