/** Registry use cases for resource servers: register, update and remove; every change is a new version and an audit record. */
import { randomUUID } from 'node:crypto'
import { WritError } from '@writ/sdk'
import type { AdminIdentity } from '../admins/admin-identity.js'
import { checkPublicKeys } from '../agents/parse-document.js'
import type { Clock } from '../clock.js'
import type { Repositories, Storage } from '../storage/storage.js'
import { HOST_AUDIENCE_PREFIX, HOST_RESOURCE_SERVER_PREFIX } from '../hosts/host.js'
import { resourceServerDocumentSchema, type ResourceServer, type ResourceServerChange, type ResourceServerDocument } from './resource-server-document.js'

export interface ResourceServerRegistryDeps {
  storage: Storage
  clock: Clock
  /** Writ's issuer identifier: never a resource server's audience (an API token could then pass as a capability). */
  issuer: string
}

export async function registerResourceServer(input: unknown, admin: AdminIdentity, deps: ResourceServerRegistryDeps): Promise<ResourceServer> {
  const document = await parseResourceServerDocument(input, deps.issuer)
  const now = new Date(deps.clock.nowMs()).toISOString()
  const server: ResourceServer = {
    id: randomUUID(), name: document.name, audience: document.audience, status: 'active', version: 1, document, created_at: now, updated_at: now,
  }
  return deps.storage.transaction(async (tx) => {
    // One id namespace for every client that authenticates at the token endpoint.
    if (await tx.agents.find(server.id)) throw new WritError('RESOURCE_SERVER_CONFLICT', 'the generated id collides with an agent; retry')
    await requireFree(tx, document, undefined)
    await tx.resourceServers.insert(server)
    await recordVersion(tx, server, admin, { kind: 'register', fields: Object.keys(document).sort() }, deps.clock)
    return server
  }).catch(mapUnique(document))
}

export async function updateResourceServer(id: string, input: unknown, admin: AdminIdentity, deps: ResourceServerRegistryDeps): Promise<ResourceServer> {
  const document = await parseResourceServerDocument(input, deps.issuer)
  return deps.storage.transaction(async (tx) => {
    const current = await requireResourceServer(tx, id)
    requireNotHost(current)
    if (current.status === 'removed') throw new WritError('RESOURCE_SERVER_REMOVED', `resource server \`${id}\` is removed and cannot change`)
    await requireFree(tx, document, id)
    const fields = changedFields(current.document, document)
    if (fields.length === 0) return current
    const next: ResourceServer = {
      ...current, name: document.name, audience: document.audience, document, version: current.version + 1,
      updated_at: new Date(deps.clock.nowMs()).toISOString(),
    }
    await save(tx, next, current.version)
    await recordVersion(tx, next, admin, { kind: 'update', fields }, deps.clock)
    return next
  }).catch(mapUnique(document))
}

/** Removal is final: the server can no longer authenticate and its audience is no longer issued for. */
export async function removeResourceServer(id: string, admin: AdminIdentity, deps: ResourceServerRegistryDeps): Promise<ResourceServer> {
  return deps.storage.transaction(async (tx) => {
    const current = await requireResourceServer(tx, id)
    requireNotHost(current)
    if (current.status === 'removed') throw new WritError('RESOURCE_SERVER_REMOVED', `resource server \`${id}\` is already removed`)
    const next: ResourceServer = { ...current, status: 'removed', version: current.version + 1, updated_at: new Date(deps.clock.nowMs()).toISOString() }
    await save(tx, next, current.version)
    await recordVersion(tx, next, admin, { kind: 'remove', fields: ['status'] }, deps.clock)
    return next
  })
}

export async function requireResourceServer(repositories: Repositories, id: string): Promise<ResourceServer> {
  const server = await repositories.resourceServers.find(id)
  if (!server) throw new WritError('RESOURCE_SERVER_NOT_FOUND', `resource server \`${id.slice(0, 128)}\` does not exist`)
  return server
}

export async function parseResourceServerDocument(input: unknown, issuer: string): Promise<ResourceServerDocument> {
  const parsed = resourceServerDocumentSchema.safeParse(input)
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(document)'}: ${issue.message}`)
    throw new WritError('RESOURCE_SERVER_DOCUMENT_INVALID', `the resource server document is invalid: ${reasons.join('; ')}`, { reasons })
  }
  const document = parsed.data
  // Writ's own endpoints are not resource servers: a capability token with `aud` = the issuer would be accepted where
  // Writ's API token is (and Writ's client assertions name these audiences too).
  const { audience } = document
  if (audience === issuer || audience.startsWith(`${issuer}/`) || audience.startsWith(`${issuer}?`)) {
    throw new WritError('RESOURCE_SERVER_DOCUMENT_INVALID', 'audience: Writ\'s issuer and its endpoints cannot be a resource server\'s audience', { reasons: ['audience: reserved'] })
  }
  // Hosts register their resource server through enrollment only (hosts/): its name and audience spaces are theirs.
  if (document.name.startsWith(HOST_RESOURCE_SERVER_PREFIX) || audience.startsWith(HOST_AUDIENCE_PREFIX)) {
    throw new WritError('RESOURCE_SERVER_DOCUMENT_INVALID', `names starting \`${HOST_RESOURCE_SERVER_PREFIX}\` and audiences starting \`${HOST_AUDIENCE_PREFIX}\` are reserved for enrolled hosts`, { reasons: ['reserved_for_hosts'] })
  }
  await checkPublicKeys(document.jwks.keys, 'RESOURCE_SERVER_DOCUMENT_INVALID')
  return document
}

/** A host's resource server changes with the host (`writ host label|remove`), never on its own. */
function requireNotHost(server: ResourceServer): void {
  if (server.audience.startsWith(HOST_AUDIENCE_PREFIX)) {
    throw new WritError('RESOURCE_SERVER_CONFLICT', `resource server \`${server.name}\` belongs to an enrolled host; change it with \`writ host\``, { reasons: ['host_resource_server'] })
  }
}

async function save(tx: Repositories, next: ResourceServer, expectedVersion: number): Promise<void> {
  if (!(await tx.resourceServers.update(next, expectedVersion))) {
    throw new WritError('RESOURCE_SERVER_CONFLICT', `resource server \`${next.id}\` changed concurrently; retry`)
  }
}

// A removed server keeps its name and audience for good, so audit records naming them never become ambiguous.
async function requireFree(tx: Repositories, document: ResourceServerDocument, selfId: string | undefined): Promise<void> {
  const byName = await tx.resourceServers.findByName(document.name)
  if (byName && byName.id !== selfId) throw new WritError('RESOURCE_SERVER_CONFLICT', `the name \`${document.name}\` is already registered${removedNote(byName)}`)
  const byAudience = await tx.resourceServers.findByAudience(document.audience)
  if (byAudience && byAudience.id !== selfId) {
    throw new WritError('RESOURCE_SERVER_CONFLICT', `the audience \`${document.audience}\` is already registered${removedNote(byAudience)}`)
  }
}

function removedNote(server: ResourceServer): string {
  return server.status === 'removed' ? ' (to a removed resource server; it cannot be reused)' : ''
}

async function recordVersion(tx: Repositories, server: ResourceServer, admin: AdminIdentity, change: ResourceServerChange, clock: Clock): Promise<void> {
  await tx.resourceServers.insertVersion({
    resource_server_id: server.id, version: server.version, status: server.status, document: server.document,
    changed_by: admin.id, changed_at: server.updated_at, change,
  })
  await tx.audit.append([{
    type: `resource_server.${change.kind}`,
    actor: { kind: 'admin', id: admin.id },
    data: {
      resource_server_id: server.id, name: server.name, audience: server.audience, version: server.version, status: server.status,
      fields: change.fields, kids: server.document.jwks.keys.map((k) => k.kid),
    },
  }], clock.nowMs())
}

function changedFields(before: ResourceServerDocument, after: ResourceServerDocument): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]) as Set<keyof ResourceServerDocument>
  return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key])).sort()
}

/** A concurrent insert of the same name or audience loses on the unique index; report it as the conflict it is. */
function mapUnique(document: ResourceServerDocument) {
  return (error: unknown): never => {
    const text = String((error as { message?: unknown })?.message ?? '')
    if (!(error instanceof WritError) && /unique|duplicate key/i.test(text)) {
      throw new WritError('RESOURCE_SERVER_CONFLICT', `the name \`${document.name}\` or audience \`${document.audience}\` is already registered`, { cause: error })
    }
    throw error
  }
}
