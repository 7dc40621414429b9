/** Admin use cases for enrolled hosts: label changes and removal, each a new version and an audit record. */
import { z } from 'zod'
import { WritError } from '@writ/sdk'
import type { AdminIdentity } from '../admins/admin-identity.js'
import type { Clock } from '../clock.js'
import type { Repositories, Storage } from '../storage/storage.js'
import { LABEL_KEY, labelsSchema, MAX_LABELS, type Host, type HostChange } from './host.js'

export interface HostRegistryDeps {
  storage: Storage
  clock: Clock
}

export const labelChangeSchema = z.strictObject({
  set: labelsSchema.default({}),
  remove: z.array(z.string().regex(LABEL_KEY, 'a label key')).max(MAX_LABELS).default([]),
})

export async function requireHost(repositories: Repositories, id: string): Promise<Host> {
  const host = await repositories.hosts.find(id)
  if (!host) throw new WritError('HOST_NOT_FOUND', `host \`${id.slice(0, 128)}\` does not exist`)
  return host
}

export async function updateHostLabels(id: string, input: unknown, admin: AdminIdentity, deps: HostRegistryDeps): Promise<Host> {
  const parsed = labelChangeSchema.safeParse(input)
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    throw new WritError('REQUEST_INVALID', `the label change is invalid: ${reasons.join('; ')}`, { reasons })
  }
  const { set, remove } = parsed.data
  const both = remove.filter((key) => Object.hasOwn(set, key))
  if (both.length > 0) throw new WritError('REQUEST_INVALID', `label \`${both[0]}\` is both set and removed`)
  return deps.storage.transaction(async (tx) => {
    const current = await requireHost(tx, id)
    if (current.status === 'removed') throw new WritError('HOST_REMOVED', `host \`${current.name}\` is removed and cannot change`)
    const labels: Record<string, string> = { ...current.labels, ...set }
    for (const key of remove) delete labels[key]
    if (Object.keys(labels).length > MAX_LABELS) throw new WritError('REQUEST_INVALID', `a host has at most ${MAX_LABELS} labels`)
    const fields = [...new Set([...Object.keys(current.labels), ...Object.keys(labels)])]
      .filter((key) => current.labels[key] !== labels[key]).sort()
    if (fields.length === 0) return current
    const next: Host = { ...current, labels: sorted(labels), version: current.version + 1, updated_at: new Date(deps.clock.nowMs()).toISOString() }
    await save(tx, next, current.version)
    await recordVersion(tx, next, admin, { kind: 'update', fields: fields.map((key) => `labels.${key}`) }, deps.clock, { before: current.labels })
    return next
  })
}

/**
 * Removal is final: the host's client (its resource server) can no longer authenticate, nothing more is issued for its
 * audience, and its name is never enrolled again.
 */
export async function removeHost(id: string, reason: string | undefined, admin: AdminIdentity, deps: HostRegistryDeps): Promise<Host> {
  if (reason !== undefined && (reason.length > 512 || /[\u0000-\u001f\u007f]/.test(reason))) {
    throw new WritError('REQUEST_INVALID', 'reason: at most 512 printable characters')
  }
  return deps.storage.transaction(async (tx) => {
    const current = await requireHost(tx, id)
    if (current.status === 'removed') throw new WritError('HOST_REMOVED', `host \`${current.name}\` is already removed`)
    const at = new Date(deps.clock.nowMs()).toISOString()
    const next: Host = { ...current, status: 'removed', version: current.version + 1, updated_at: at }
    await save(tx, next, current.version)
    const server = await tx.resourceServers.find(id)
    if (server && server.status !== 'removed') {
      const removed = { ...server, status: 'removed' as const, version: server.version + 1, updated_at: at }
      if (!(await tx.resourceServers.update(removed, server.version))) throw new WritError('HOST_CONFLICT', `host \`${current.name}\` changed concurrently; retry`)
      await tx.resourceServers.insertVersion({
        resource_server_id: id, version: removed.version, status: 'removed', document: removed.document, changed_by: admin.id, changed_at: at,
        change: { kind: 'remove', fields: ['status'] },
      })
    }
    await recordVersion(tx, next, admin, { kind: 'remove', fields: ['status'], ...(reason ? { reason } : {}) }, deps.clock)
    return next
  })
}

async function save(tx: Repositories, next: Host, expectedVersion: number): Promise<void> {
  if (!(await tx.hosts.update(next, expectedVersion))) throw new WritError('HOST_CONFLICT', `host \`${next.name}\` changed concurrently; retry`)
}

async function recordVersion(tx: Repositories, host: Host, admin: AdminIdentity, change: HostChange, clock: Clock, extra: Record<string, unknown> = {}): Promise<void> {
  await tx.hosts.insertVersion({
    host_id: host.id, version: host.version, status: host.status, labels: host.labels, changed_by: `admin:${admin.id}`,
    changed_at: host.updated_at, change,
  })
  await tx.audit.append([{
    type: `host.${change.kind}`,
    actor: { kind: 'admin', id: admin.id },
    data: {
      host_id: host.id, name: host.name, version: host.version, status: host.status, labels: host.labels, fields: change.fields,
      ...(change.reason ? { reason: change.reason } : {}), ...extra,
    },
  }], clock.nowMs())
}

function sorted(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}
