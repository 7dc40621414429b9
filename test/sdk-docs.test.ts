// Runs every ```ts example of docs/sdk.md, as written, against a real Writ server, so the examples cannot drift.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createAgentClient, type CapabilityRequest } from '@writ/sdk'
import { EXAMPLES_DIR, runWrit, startTestServer, type TestServer } from '../packages/cli/src/test-cli.fixture.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DOC = join(ROOT, 'docs/sdk.md')
const DEPLOY_BOT = fileURLToPath(new URL('deploy-bot.yaml', EXAMPLES_DIR))
const AUDIENCES = ['https://ci.example.com', 'https://deploy.example.com', 'https://gateway.example.com']

interface Example { name: string; code: string }

/** The ```ts blocks of a Markdown text; each must be named (```ts example=<name>) so that none is silently skipped. */
function extractExamples(markdown: string): Example[] {
  return [...markdown.matchAll(/^```ts([^\n]*)\n([\s\S]*?)^```$/gm)].map(([, info, code]) => {
    const name = /\bexample=([\w-]+)/.exec(info ?? '')?.[1]
    if (name === undefined) throw new Error(`a ts block of docs/sdk.md has no example=<name>: ${code!.slice(0, 60)}`)
    return { name, code: code! }
  })
}

const examples = extractExamples(readFileSync(DOC, 'utf8'))
let t: TestServer
let scratch: string
let releaseManager: string
let logged: string[] = []

/** Imports one example as its own module (Vitest resolves '@writ/sdk' to the source) and returns its exports. */
async function run(name: string): Promise<Record<string, unknown>> {
  const example = examples.find((e) => e.name === name)
  if (example === undefined) throw new Error(`docs/sdk.md has no example ${name}`)
  const file = join(scratch, `${name}.ts`)
  writeFileSync(file, example.code)
  return import(pathToFileURL(file).href) as Promise<Record<string, unknown>>
}

/** Approves, as a release manager, the held request whose auth_req_id the example or test printed. */
async function approveWhenPrinted(since: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const id = logged.slice(since).join('\n').match(/writ approvals approve (\S+)/)?.[1]
    if (id !== undefined) {
      const approved = await runWrit(['--data-dir', t.dataDir, 'approvals', 'approve', id, '--admin-token', releaseManager])
      expect(approved.stderr).toBe('')
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('no held request was printed')
}

function agent() {
  return createAgentClient({ issuer: t.server.publicUrl, agent: 'deploy-bot', privateKey: JSON.parse(readFileSync(join(t.dataDir, 'deploy.jwk'), 'utf8')) })
}

/** A deploy token as the held example gets it: held, approved by a release manager, then issued. */
async function deployToken(taskId: string): Promise<string> {
  const request: CapabilityRequest = { action: 'deploy.run', resource: 'service:billing', parameters: { ref: 'v1.42.0' }, taskId, audience: 'https://deploy.example.com' }
  const since = logged.length
  const [grant] = await Promise.all([
    agent().requestCapability(request, { waitForApproval: { timeoutMs: 30_000, onPending: ({ authReqId }) => logged.push(`writ approvals approve ${authReqId}`) } }),
    approveWhenPrinted(since),
  ])
  return grant.accessToken
}

beforeAll(async () => {
  // A 1 s poll interval keeps the held example short; the audiences are the ones docs/sdk.md tells the reader to set.
  t = await startTestServer({ oversight: { pollIntervalSeconds: 1 }, tokens: { audiences: AUDIENCES } })
  scratch = mkdtempSync(join(tmpdir(), 'writ-sdk-docs-'))
  const writ = (...args: string[]) => runWrit(['--data-dir', t.dataDir, ...args])
  expect((await writ('agent', 'keygen', '--out', join(t.dataDir, 'deploy'))).code).toBe(0)
  expect((await writ('agent', 'register', '--file', DEPLOY_BOT, '--public-key', join(t.dataDir, 'deploy.pub.jwk'))).code).toBe(0)
  releaseManager = (JSON.parse((await writ('admin', 'create', '--name', 'rm@example.com', '--role', 'release-manager', '--json')).stdout) as { credential: string }).credential
  process.env.WRIT_ISSUER = t.server.publicUrl
  process.env.WRIT_AGENT_KEY = join(t.dataDir, 'deploy.jwk')
  process.env.PORT = '0'
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logged.push(args.join(' ')))
})

afterAll(async () => {
  vi.restoreAllMocks()
  for (const name of ['WRIT_ISSUER', 'WRIT_AGENT_KEY', 'PORT']) delete process.env[name]
  await t.stop()
  t.remove()
  rmSync(scratch, { recursive: true, force: true })
})

/** Type errors of the examples under the repository's strict compiler settings, with '@writ/sdk' as its source. */
function typeErrors(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'writ-sdk-docs-types-'))
  try {
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }')
    const files = examples.map(({ name, code }) => {
      writeFileSync(join(dir, `${name}.ts`), code)
      return join(dir, `${name}.ts`)
    })
    const base = ts.readConfigFile(join(ROOT, 'tsconfig.base.json'), ts.sys.readFile).config as { compilerOptions: object }
    const { options } = ts.convertCompilerOptionsFromJson(base.compilerOptions, ROOT)
    const program = ts.createProgram(files, {
      ...options, composite: false, declaration: false, sourceMap: false, noEmit: true,
      typeRoots: [join(ROOT, 'node_modules/@types')], paths: { '@writ/sdk': [join(ROOT, 'packages/sdk/src/index.ts')] },
    })
    return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('the examples of docs/sdk.md', () => {
  it('are all named, and this test runs each of them', () => {
    expect(examples.map((e) => e.name).sort()).toEqual(['denied', 'dpop', 'gateway', 'held', 'request', 'resource-server'])
  })

  it('type-check under the repository\'s strict settings', () => {
    expect(typeErrors()).toEqual([])
  })

  it('request: the agent, named by name, gets a capability token', async () => {
    logged = []
    await run('request')
    expect(logged).toEqual(['token for tests.run, valid 300 s'])
  })

  it('denied: an undeclared action is refused with its reason', async () => {
    logged = []
    await run('denied')
    expect(logged).toEqual(['denied: capability_not_declared:db.drop'])
  })

  it('held: the agent waits, a release manager approves the printed auth_req_id, the agent gets its token', async () => {
    logged = []
    await Promise.all([run('held'), approveWhenPrinted(0)])
    expect(logged[0]).toMatch(/^waiting for a release manager: writ approvals approve \S+ \(expires in \d+ s\)$/)
    expect(logged[1]).toBe('approved: token valid 300 s')
  })

  it('resource-server: accepts a deploy token once, for its own service only, and refuses the rest with RFC 6750 answers', async () => {
    const { server, revoked } = await run('resource-server') as { server: Server; revoked: Set<string> }
    if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const deploy = (service: string, token?: string) =>
      fetch(`${base}/services/${service}/deploy`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} })
    try {
      const token = await deployToken('T-50')
      const elsewhere = await deploy('payments', token)
      expect(elsewhere.status).toBe(403)
      expect(elsewhere.headers.get('www-authenticate')).toBe('Bearer realm="deploy", error="insufficient_scope"')
      expect(await elsewhere.json()).toEqual({ error: 'insufficient_scope', writ_code: 'TOKEN_SCOPE_MISMATCH' })

      const ok = await deploy('billing', token)
      expect(ok.status).toBe(200)
      expect(await ok.json()).toMatchObject({ deployed: 'v1.42.0', service: 'billing', task: 'T-50' })
      expect((await deploy('billing', token)).status).toBe(409)

      expect((await deploy('billing')).status).toBe(401)
      const ci = await agent().requestCapability({ action: 'tests.run', resource: 'repo:acme/billing', access: 'read', taskId: 'T-51', audience: 'https://ci.example.com' })
      const wrongAudience = await deploy('billing', ci.accessToken)
      expect(wrongAudience.status).toBe(401)
      expect(await wrongAudience.json()).toEqual({ error: 'invalid_token', writ_code: 'TOKEN_INVALID' })

      const second = await deployToken('T-52')
      revoked.add(JSON.parse(Buffer.from(second.split('.')[1]!, 'base64url').toString()).jti as string)
      expect(await (await deploy('billing', second)).json()).toEqual({ error: 'invalid_token', writ_code: 'TOKEN_REVOKED' })
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('dpop: the client binds its token to a fresh key and the middleware serves it with a proof', async () => {
    logged = []
    await run('dpop')
    expect(logged).toEqual(['DPoP token: 200 tests run for task T-70; bound to a key: true'])
  })

  it('gateway: routes on the action of a verified token and still refuses a token for another audience', async () => {
    const { upstreamFor } = await run('gateway') as { upstreamFor: (token: string) => Promise<string | undefined> }
    const forGateway = await agent().requestCapability({ action: 'tests.run', resource: 'repo:acme/billing', access: 'read', taskId: 'T-60', audience: 'https://gateway.example.com' })
    expect(await upstreamFor(forGateway.accessToken)).toBe('http://ci.internal')
    const forCi = await agent().requestCapability({ action: 'tests.run', resource: 'repo:acme/billing', access: 'read', taskId: 'T-61', audience: 'https://ci.example.com' })
    await expect(upstreamFor(forCi.accessToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID', reasons: ['aud_mismatch'] })
  })
})
