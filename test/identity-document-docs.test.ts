// A cheap drift guard: every field of the identity-document schema is explained in docs/identity-document.md.
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { agentDocumentSchema } from '../packages/server/src/agents/agent-document.js'

interface JsonSchema { type?: string; properties?: Record<string, JsonSchema>; items?: JsonSchema }

/** Field paths as the doc writes them: `human_oversight.approvers`, `capabilities[].risk_level`. */
function fieldPaths(schema: JsonSchema, prefix = ''): string[] {
  if (schema.items !== undefined) return fieldPaths(schema.items, `${prefix}[]`)
  return Object.entries(schema.properties ?? {}).flatMap(([key, child]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`
    return [path, ...fieldPaths(child, path)]
  })
}

describe('docs/identity-document.md', () => {
  const doc = readFileSync(new URL('../docs/identity-document.md', import.meta.url), 'utf8')
  const paths = fieldPaths(z.toJSONSchema(agentDocumentSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema)

  it('has a table row for every field of the schema', () => {
    expect(paths).toContain('jwks.keys[].kid')
    const missing = paths.filter((path) => !doc.includes(`| \`${path}\` |`))
    expect(missing).toEqual([])
  })

  it('documents no field the schema does not have', () => {
    const rows = [...doc.matchAll(/^\| `([a-z_.[\]]+)` \|/gm)].map((match) => match[1])
    expect(rows.filter((row) => !paths.includes(row!))).toEqual([])
  })

  it('shows examples/agents/deploy-bot.yaml inline as it is, and links all three samples', () => {
    const sample = readFileSync(new URL('../examples/agents/deploy-bot.yaml', import.meta.url), 'utf8')
    const body = sample.split('\n').filter((line) => !line.startsWith('#')).join('\n').trim()
    expect(doc).toContain(body)
    for (const name of ['deploy-bot', 'sre-responder', 'support-assistant']) expect(doc).toContain(`(../examples/agents/${name}.yaml)`)
  })
})
