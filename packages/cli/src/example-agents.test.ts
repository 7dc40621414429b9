import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { AGENT_TEMPLATE, EXAMPLE_AGENTS } from './example-agents.js'
import { EXAMPLES_DIR, runWrit } from './test-cli.fixture.js'

describe('the embedded sample identity documents', () => {
  it('are byte-equal to examples/agents/<name>.yaml, one for each sample there', () => {
    const files = readdirSync(EXAMPLES_DIR).filter((file) => file.endsWith('.yaml')).sort()
    expect(Object.keys(EXAMPLE_AGENTS).map((name) => `${name}.yaml`).sort()).toEqual(files)
    for (const [name, text] of Object.entries(EXAMPLE_AGENTS)) {
      expect(text, name).toBe(readFileSync(new URL(`${name}.yaml`, EXAMPLES_DIR), 'utf8'))
    }
  })

  it('writ agent init --example prints a sample exactly as the file holds it', async () => {
    const result = await runWrit(['agent', 'init', '--example', 'sre-responder'])
    expect(result.code).toBe(0)
    expect(`${result.stdout}\n`).toBe(readFileSync(new URL('sre-responder.yaml', EXAMPLES_DIR), 'utf8'))
    const json = await runWrit(['agent', 'init', '--example', 'deploy-bot', '--json'])
    expect(JSON.parse(json.stdout)).toEqual(parseYaml(EXAMPLE_AGENTS['deploy-bot']))
    expect((await runWrit(['agent', 'init', '--example', 'no-such-bot'])).code).toBe(2)
  })

  it('writ agent init without --example prints the commented template', async () => {
    const result = await runWrit(['agent', 'init'])
    expect(result.code).toBe(0)
    expect(`${result.stdout}\n`).toBe(AGENT_TEMPLATE)
    expect(result.stdout).toMatch(/^# /m)
  })
})
