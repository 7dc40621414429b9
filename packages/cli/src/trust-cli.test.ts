import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

describe('writ trust list', () => {
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
})
