/** Human views of enrolled hosts: the list table, one host's details, and its version history. */
import type { Host, HostVersion } from '@writ/server'
import { formatFields, formatTable } from './output.js'

type HostView = Host & { audience?: string }

export function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`).join(',')
}

export function formatHostList(hosts: readonly HostView[]): string {
  if (hosts.length === 0) return 'no hosts enrolled'
  return formatTable(['NAME', 'ID', 'LABELS', 'STATUS', 'VERSION', 'UPDATED'], hosts.map((h) => [h.name, h.id, labelText(h.labels), h.status, h.version, h.updated_at]))
}

export function formatHost(host: HostView): string {
  return formatFields([
    ['name', host.name], ['id', host.id], ['audience', host.audience ?? ''], ['status', host.status], ['version', host.version],
    ['labels', labelText(host.labels)], ['ssh host key', host.ssh_host_public_key], ['client key', host.client_jwk.kid ?? ''],
    ['join token', host.join_token_id], ['enrolled', host.created_at], ['updated', host.updated_at],
  ])
}

export function formatHostHistory(versions: readonly HostVersion[]): string {
  return formatTable(
    ['VERSION', 'STATUS', 'CHANGE', 'FIELDS', 'BY', 'AT'],
    versions.map((v) => [v.version, v.status, v.change.kind, v.change.fields.join(','), v.changed_by, v.changed_at]),
  )
}
