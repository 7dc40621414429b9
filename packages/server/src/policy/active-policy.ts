/** The policy in force: the newest stored policy set, compiled once, swapped atomically on push or when another replica pushed. */
import { createHash } from 'node:crypto'
import { WritError } from '@writ/sdk'
import type { AdminIdentity } from '../admins/admin-identity.js'
import { canonicalJson } from '../audit/audit-record.js'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'
import type { StoredPolicySet } from '../storage/policy-set-repository.js'
import { CedarPolicyEngine, validatePolicyFiles } from './cedar-policy-engine.js'
import type { AuthorizationRequest, Decision, PolicyEngine } from './policy-engine.js'

/** Seeded on first start: everything inside each agent's permission boundary. Operators refine from there. */
export const DEFAULT_POLICY_FILES: Record<string, string> = {
  'default.cedar': [
    '// Everything inside each agent\'s permission boundary (its declared capabilities and data access).',
    '// Push your own set to refine it: `writ policy push policies/`.',
    '@id("default.permit-within-boundary")',
    'permit (principal, action, resource);',
    '',
  ].join('\n'),
}

export interface ActivePolicyDeps {
  storage: Storage
  clock: Clock
  timeZone: string
}

export class ActivePolicy implements PolicyEngine {
  private constructor(private engine: CedarPolicyEngine, private current: StoredPolicySet, private readonly deps: ActivePolicyDeps) {}

  /** Fails (and so stops the server) when the stored set does not compile: never start with a policy we cannot apply. */
  static async load(deps: ActivePolicyDeps): Promise<ActivePolicy> {
    let stored = await deps.storage.policySets.latest()
    if (!stored) {
      const seed = policySet(1, DEFAULT_POLICY_FILES, 'system:bootstrap', deps.clock.nowMs(), 'default: permit within the boundary')
      try {
        await deps.storage.transaction(async (tx) => {
          await tx.policySets.insert(seed)
          await tx.audit.append([updateRecord(seed, { kind: 'system', id: 'bootstrap' }, [])], deps.clock.nowMs())
        })
      } catch (error) {
        // Another replica seeded the same empty database first; its version 1 is what we load.
        if (!(await deps.storage.policySets.latest())) throw error
      }
      stored = await deps.storage.policySets.latest() as StoredPolicySet
    }
    const engine = CedarPolicyEngine.create({ files: stored.files, declaredActions: await declaredActions(deps.storage), timeZone: deps.timeZone, version: stored.version })
    return new ActivePolicy(engine, stored, deps)
  }

  decide(request: AuthorizationRequest): Decision {
    return this.engine.decide(request)
  }

  version(): number {
    return this.current.version
  }

  annotations(policyId: string): Readonly<Record<string, string>> | undefined {
    return this.engine.annotations(policyId)
  }

  active(): StoredPolicySet {
    return this.current
  }

  /** Compiles a candidate set against the current registry without storing it. */
  async compile(files: Record<string, string>, version?: number): Promise<CedarPolicyEngine> {
    return CedarPolicyEngine.create({ files, declaredActions: await declaredActions(this.deps.storage), timeZone: this.deps.timeZone, ...(version === undefined ? {} : { version }) })
  }

  async validate(files: Record<string, string>): Promise<ReturnType<typeof validatePolicyFiles>> {
    return validatePolicyFiles(files, await declaredActions(this.deps.storage))
  }

  /** Validates, stores as the next version with its audit record (one transaction), then swaps it in. */
  async push(files: Record<string, string>, comment: string, admin: AdminIdentity): Promise<{ set: StoredPolicySet; warnings: string[] }> {
    const engine = await this.compile(files)
    let set: StoredPolicySet
    try {
      set = await this.deps.storage.transaction(async (tx) => {
        const next = policySet((await tx.policySets.latestVersion()) + 1, files, admin.id, this.deps.clock.nowMs(), comment)
        await tx.policySets.insert(next)
        await tx.audit.append([updateRecord(next, { kind: 'admin', id: admin.id }, engine.policies.map((p) => p.id))], this.deps.clock.nowMs())
        return next
      })
    } catch (error) {
      engine.dispose()
      throw error
    }
    // ActivePolicy.version() reports the stored version, so the engine compiled to validate is the one swapped in.
    this.swap(engine, set)
    return { set, warnings: engine.warnings.map((w) => w.message) }
  }

  /** Picks up a set pushed through another replica; a set that no longer compiles keeps the current one in force. */
  async refresh(): Promise<boolean> {
    if ((await this.deps.storage.policySets.latestVersion()) <= this.current.version) return false
    const stored = await this.deps.storage.policySets.latest() as StoredPolicySet
    this.swap(await this.compile(stored.files, stored.version), stored)
    return true
  }

  /** The preparsed Cedar sets live in wasm memory: the replaced engine is released, not left to pile up. */
  private swap(engine: CedarPolicyEngine, set: StoredPolicySet): void {
    const previous = this.engine
    this.engine = engine
    this.current = set
    previous.dispose()
  }
}

export async function declaredActions(storage: Storage): Promise<string[]> {
  const agents = await storage.agents.list()
  return [...new Set(agents.filter((a) => a.status !== 'retired').flatMap((a) => a.document.capabilities.map((c) => c.id)))].sort()
}

export function policySetHash(files: Record<string, string>): string {
  return createHash('sha256').update(canonicalJson(files)).digest('hex')
}

function policySet(version: number, files: Record<string, string>, createdBy: string, createdAt: number, comment: string): StoredPolicySet {
  if (Object.keys(files).length === 0) throw new WritError('POLICY_INVALID', 'a policy set needs at least one file')
  return { version, files, hash: policySetHash(files), createdBy, createdAt, comment }
}

function updateRecord(set: StoredPolicySet, actor: { kind: 'admin' | 'system'; id: string }, policyIds: string[]) {
  return {
    type: 'policy.update',
    actor,
    data: { version: set.version, hash: set.hash, files: Object.keys(set.files).sort(), policy_ids: policyIds, comment: set.comment },
  }
}
