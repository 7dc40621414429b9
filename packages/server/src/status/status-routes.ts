/** `GET /v1/status`: what an operator checks first (version, storage, audit chain and its self-check, signing key, policy). */
import { createRequire } from 'node:module'
import { Hono } from 'hono'
import type { AuditSelfCheck, SelfCheckStatus } from '../audit/audit-self-check.js'
import type { Clock } from '../clock.js'
import type { AdminEnv } from '../http/admin-auth.js'
import type { KeyManager } from '../keys/key-manager.js'
import type { Storage } from '../storage/storage.js'

// Both src/status/ and dist/status/ sit two levels below the package root.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string }

export interface ServerStatus {
  version: string
  time: string
  storage: { driver: Storage['driver'] }
  audit: {
    head: { seq: number; hash: string }
    self_check: SelfCheckStatus
    /** `halted` when the self-check found the chain broken and audit.haltIssuanceOnBrokenChain is on. */
    issuance: 'open' | 'halted'
  }
  signing_key: { kid: string; alg: string; created_at: string; age_seconds: number }
  policy: { version: number; created_at: string }
}

export interface StatusDeps {
  storage: Storage
  keys: KeyManager
  policy: { active(): { version: number; createdAt: number } }
  selfCheck: AuditSelfCheck
  clock: Clock
}

/** Any admin role may read it: it holds ids, counts and times, never a credential. */
export function statusRoutes(deps: StatusDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()
  app.get('/status', async (c) => c.json(await serverStatus(deps)))
  return app
}

export async function serverStatus(deps: StatusDeps): Promise<ServerStatus> {
  const nowMs = deps.clock.nowMs()
  const key = deps.keys.current()
  const policy = deps.policy.active()
  return {
    version,
    time: iso(nowMs),
    storage: { driver: deps.storage.driver },
    audit: {
      head: await deps.storage.audit.head(),
      self_check: deps.selfCheck.status(),
      issuance: deps.selfCheck.issuanceHalted ? 'halted' : 'open',
    },
    signing_key: { kid: key.kid, alg: key.alg, created_at: iso(key.createdAt), age_seconds: Math.max(0, Math.floor((nowMs - key.createdAt) / 1000)) },
    policy: { version: policy.version, created_at: iso(policy.createdAt) },
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
