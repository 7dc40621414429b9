/** Human views of resource servers: the list table, one server's details, and its version history. */
import type { ResourceServer, ResourceServerVersion } from '@writ/server'
import { formatFields, formatRows, formatTable } from './output.js'

export function formatResourceServerList(servers: readonly ResourceServer[]): string {
  if (servers.length === 0) return 'no resource servers registered'
  return formatTable(
    ['NAME', 'ID', 'AUDIENCE', 'STATUS', 'VERSION', 'UPDATED'],
    servers.map((s) => [s.name, s.id, s.audience, s.status, s.version, s.updated_at]),
  )
}

export function formatResourceServer(server: ResourceServer): string {
  const doc = server.document
  const keys = doc.jwks.keys.map((k) => [k.kid ?? '', k.kty, k.crv])
  return [
    formatFields([
      ['name', server.name], ['id', server.id], ['audience', server.audience], ['status', server.status], ['version', server.version],
      ['owner', doc.owner ?? ''], ['description', doc.description], ['created', server.created_at], ['updated', server.updated_at],
    ]),
    // Public keys are not secrets, but their kid and type are all a reader needs.
    `keys\n${keys.length === 0 ? '  (none)' : formatRows(keys, '  ')}`,
  ].join('\n')
}

export function formatResourceServerHistory(versions: readonly ResourceServerVersion[]): string {
  return formatTable(
    ['VERSION', 'STATUS', 'CHANGE', 'FIELDS', 'BY', 'AT'],
    versions.map((v) => [v.version, v.status, v.change.kind, v.change.fields.join(','), v.changed_by, v.changed_at]),
  )
}
