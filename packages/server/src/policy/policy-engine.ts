/** The PolicyEngine port: a runtime decision for every capability request. Decide never throws; deny is the default. */
import type { Agent } from '../agents/agent-document.js'

export interface AuthorizationRequest {
  agent: Agent
  action: string
  resource: string
  parameters?: Record<string, unknown>
  /**
   * The access the action needs on the resource, when the request says so (RFC 9396 `actions`: one of read, write,
   * delete); otherwise the boundary infers it from the action's verb.
   */
  accessType?: 'read' | 'write' | 'delete'
  task: { id: string; step?: string; purpose?: string }
  /** Epoch milliseconds of the request, from the injected clock. */
  timeMs: number
  sourceIp?: string
  /** The host the action runs on, when known (hosts capability). */
  host?: string
  /** The enrolled host of a `host:<name>` resource (Cedar's `context.target_host`, a `Writ::Host`). */
  targetHost?: { name: string; labels: string[] }
  /** The delegating human, when the agent acts on delegated authority (delegation capability). */
  human?: { id: string; groups: string[] }
  /** Hops between the human and this agent; 0 when not delegated. */
  delegationDepth?: number
  /**
   * True when the request is a human delegating this action on this resource (a glob) to the agent, not the agent
   * acting: the same policies decide both, and this tells them apart (Cedar's `context.delegating`).
   */
  delegating?: boolean
  /**
   * The `aud` the token will carry (Cedar's `context.audience`): a resource server's audience, or Writ's issuer for a
   * delegation grant. Absent only in hand-built requests (tests, what-if replays of records from before it was recorded).
   */
  audience?: string
  /** The registered resource server's name, when `audience` belongs to one (Cedar's `context.resource_server`). */
  resourceServer?: string
}

export interface Decision {
  effect: 'allow' | 'deny' | 'hold'
  /** Machine-readable reasons, safe to show the agent's developer and stored in the audit record. */
  reasons: string[]
  /** Ids of the policies that decided. */
  policies: string[]
}

export interface PolicyEngine {
  decide(request: AuthorizationRequest): Decision
  /** The annotations of a policy of the set in force (e.g. `@ssh_principals`), by id; undefined when it has none or is unknown. */
  annotations?(policyId: string): Readonly<Record<string, string>> | undefined
}
