import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLES_DIR, runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

describe('writ trust list and federated agents', () => {
  let t: TestServer
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])

  beforeAll(async () => {
    t = await startTestServer({
      trust: {
        providers: [{ name: 'github', issuer: 'https://token.actions.githubusercontent.com', audience: 'https://writ.example', kind: 'github-actions' }],
        humanIssuers: [{ issuer: 'https://login.example.com', audience: 'writ', groupsClaim: 'groups' }],
      },
    })
  })
  afterAll(async () => {
    await t.stop()
    t.remove()
  })

  it('lists providers and human issuers, as a table and as JSON, without contacting them', async () => {
    const table = await writ('trust', 'list')
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^NAME\s+KIND\s+ISSUER\s+AUDIENCE\s+SINGLE USE\s+MAX LIFETIME$/m)
    expect(table.stdout).toMatch(/github\s+github-actions\s+https:\/\/token\.actions\.githubusercontent\.com/)
    expect(table.stdout).toMatch(/https:\/\/login\.example\.com\s+writ\s+sub\s+groups/)
    const json = JSON.parse((await writ('trust', 'list', '--json')).stdout) as { providers: unknown[]; human_issuers: unknown[] }
    expect(json.providers).toEqual([expect.objectContaining({ name: 'github', kind: 'github-actions', single_use: false })])
    expect(json.human_issuers).toEqual([expect.objectContaining({ issuer: 'https://login.example.com', user_claim: 'sub', groups_claim: 'groups' })])
  })

  it('registers an agent from a document with federated identities and no public key, and shows them', async () => {
    const sample = readFileSync(new URL('deploy-bot.yaml', EXAMPLES_DIR), 'utf8').replace('name: deploy-bot', 'name: ci-deployer')
    const file = join(t.dataDir, 'ci-deployer.yaml')
    writeFileSync(file, `${sample}\nfederated_identities:\n  - provider: github\n    subject: "repo:acme/billing:environment:prod"\n    claims:\n      repository: acme/billing\n`)
    const registered = await writ('agent', 'register', '--file', file)
    expect(registered.code, registered.stderr).toBe(0)
    expect(registered.stdout).toContain('(none: it authenticates through its federated identities)')
    const shown = await writ('agent', 'show', 'ci-deployer')
    expect(shown.stdout).toMatch(/^federated identities\n\s+github\s+repo:acme\/billing:environment:prod\s+\{"repository":"acme\/billing"\}$/m)
  })
})
