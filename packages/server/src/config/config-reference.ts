/** Renders the configuration reference (docs/configuration.md) from the schema, so the docs cannot drift from it. */
import { z } from 'zod'
import { configSchema, SECRET_PATHS } from './schema.js'

interface JsonSchemaNode {
  type?: string | string[]
  description?: string
  default?: unknown
  enum?: unknown[]
  properties?: Record<string, JsonSchemaNode>
  items?: JsonSchemaNode
  minimum?: number
  maximum?: number
}

export function configReference(): string {
  const root = z.toJSONSchema(configSchema, { io: 'input' }) as JsonSchemaNode
  const rows: string[] = []
  const walk = (node: JsonSchemaNode, path: string[]) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const at = [...path, key]
      if (child.properties) { walk(child, at); continue }
      const dotted = at.join('.')
      const env = `WRIT_${at.map((s) => s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()).join('__')}`
      const type = child.enum ? child.enum.map((v) => `\`${String(v)}\``).join(' \\| ') : `${String(child.type ?? 'string')}${child.items ? ` of ${String(child.items.type)}` : ''}`
      const range = child.minimum !== undefined || child.maximum !== undefined ? ` (${child.minimum ?? ''}…${child.maximum ?? ''})` : ''
      const secret = (SECRET_PATHS as readonly string[]).includes(dotted)
      const fallback = secret ? 'none (secret)' : child.default === undefined ? '—' : `\`${JSON.stringify(child.default)}\``
      rows.push(`| \`${dotted}\` | \`${env}\` | ${type}${range} | ${fallback} | ${child.description ?? ''} |`)
    }
  }
  walk(root, [])
  return [
    '# Configuration',
    '',
    'Generated from `packages/server/src/config/schema.ts` (a test keeps this page equal to it). Sources, later ones win:',
    'defaults, the YAML file given with `--config` (or `WRIT_CONFIG`), `WRIT_*` environment variables (nesting with `__`),',
    'then command-line flags. Unknown keys are errors; every problem is reported with its key path at start-up; secrets',
    'have no default and are printed as `[redacted]` (`writ serve --print-config`).',
    '',
    '| key | environment | type | default | description |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n')
}
