import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from '@writ/sdk'
import { configReference } from './config-reference.js'

const docs = (name: string) => readFileSync(new URL(`../../../../docs/${name}`, import.meta.url), 'utf8')

describe('reference documentation', () => {
  it('docs/configuration.md equals the reference generated from the schema (regenerate with `npm run docs`)', () => {
    expect(docs('configuration.md')).toBe(configReference())
  })

  it('docs/errors.md lists every error code with its status and OAuth error', () => {
    const page = docs('errors.md')
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(page).toContain(`| \`${code}\` | ${spec.status} | \`${spec.oauth}\` |`)
    }
  })
})
