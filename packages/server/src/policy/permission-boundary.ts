/** The permission boundary compiled from an agent's identity document: the outer limit that no policy can widen. */
import type { AgentDocument } from '../agents/agent-document.js'
import type { AuthorizationRequest } from './policy-engine.js'

export const BOUNDARY_POLICY_ID = 'writ.boundary'

export type AccessType = 'read' | 'write' | 'delete'
export type DeclaredCapability = AgentDocument['capabilities'][number]
export type DeclaredDataAccess = AgentDocument['data_access'][number]
export type Sensitivity = DeclaredDataAccess['sensitivity']

export type BoundaryResult =
  | {
    ok: true
    capability: DeclaredCapability
    /** The most specific declared entry that allows the access. */
    dataAccess: DeclaredDataAccess
    accessType: AccessType
    /** The resource's sensitivity: that of the most specific declared entry matching the resource. */
    sensitivity: Sensitivity
  }
  | { ok: false; reasons: string[] }

const ACCESS_RANK: Record<AccessType, number> = { read: 0, write: 1, delete: 2 }
const SENSITIVITY_RANK: Record<Sensitivity, number> = { public: 0, internal: 1, confidential: 2, restricted: 3 }
const READ_VERBS = new Set(['read', 'get', 'list', 'view', 'search', 'query', 'describe', 'watch'])
const DELETE_VERBS = new Set(['delete', 'drop', 'remove', 'destroy', 'purge', 'erase'])

/** The access an action needs, from its last dot-segment (`customer.read` → read); unknown verbs need write. */
export function accessTypeOf(action: string): AccessType {
  const verb = action.slice(action.lastIndexOf('.') + 1).toLowerCase()
  if (READ_VERBS.has(verb)) return 'read'
  if (DELETE_VERBS.has(verb)) return 'delete'
  // INVARIANT: anything not known to be a read or a delete is a write, so a new verb is never under-classified as read.
  return 'write'
}

/** The part of a resource string before its first `:` (`service:billing` → `service`), or the whole string. */
export function resourceTypeOf(resource: string): string {
  const colon = resource.indexOf(':')
  return colon === -1 ? resource : resource.slice(0, colon)
}

interface RankedEntry {
  entry: DeclaredDataAccess
  /** Exact entries outrank every glob; among globs the longer pattern wins. */
  specificity: number
  matches: (resource: string) => boolean
}

interface CompiledBoundary {
  capabilities: Map<string, DeclaredCapability>
  exact: Map<string, RankedEntry[]>
  /** Sorted most specific first. */
  globs: RankedEntry[]
}

// Keyed by the document object: the registry hands out a new object for every version, so a cached boundary never
// outlives the document it was compiled from.
const compiled = new WeakMap<AgentDocument, CompiledBoundary>()

export function checkBoundary(request: AuthorizationRequest): BoundaryResult {
  const { agent, action, resource } = request
  if (agent.status !== 'active') return { ok: false, reasons: [`agent_not_active:${agent.status}`] }
  const boundary = compileBoundary(agent.document)
  const capability = boundary.capabilities.get(action)
  if (capability === undefined) return { ok: false, reasons: [`capability_not_declared:${action}`] }

  const matching = [...(boundary.exact.get(resource) ?? []), ...boundary.globs.filter((ranked) => ranked.matches(resource))]
  const top = matching[0]
  if (top === undefined) return { ok: false, reasons: [`resource_not_declared:${resource}`] }
  // A stated access type (RFC 9396 `actions`) is what the token will carry and the resource enforces; else the verb.
  const accessType = request.accessType ?? accessTypeOf(action)
  const allowing = matching.find((ranked) => ACCESS_RANK[ranked.entry.access_type] >= ACCESS_RANK[accessType])
  if (allowing === undefined) return { ok: false, reasons: [`access_type_not_declared:${accessType}`] }

  // The most specific declaration describes the resource, whichever entry grants the access: a broad `crm:*` write
  // grant must not downgrade `crm:vip`, declared restricted, to the grant's sensitivity. Ties take the higher one.
  let sensitivity = top.entry.sensitivity
  for (const ranked of matching) {
    if (ranked.specificity !== top.specificity) break
    if (SENSITIVITY_RANK[ranked.entry.sensitivity] > SENSITIVITY_RANK[sensitivity]) sensitivity = ranked.entry.sensitivity
  }
  return { ok: true, capability, dataAccess: allowing.entry, accessType, sensitivity }
}

export function compileBoundary(document: AgentDocument): CompiledBoundary {
  const cached = compiled.get(document)
  if (cached !== undefined) return cached
  const exact = new Map<string, RankedEntry[]>()
  const globs: RankedEntry[] = []
  for (const entry of document.data_access) {
    if (!entry.resource.includes('*')) {
      const ranked: RankedEntry = { entry, specificity: Number.MAX_SAFE_INTEGER, matches: (resource) => resource === entry.resource }
      exact.set(entry.resource, [...(exact.get(entry.resource) ?? []), ranked])
      continue
    }
    const pattern = new RegExp(`^${entry.resource.split('*').map(escapeRegExp).join('[\\s\\S]*')}$`)
    globs.push({ entry, specificity: entry.resource.length, matches: (resource) => pattern.test(resource) })
  }
  globs.sort((a, b) => b.specificity - a.specificity)
  const result: CompiledBoundary = {
    capabilities: new Map(document.capabilities.map((capability) => [capability.id, capability])),
    exact,
    globs,
  }
  compiled.set(document, result)
  return result
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
