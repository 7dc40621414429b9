/** System-test support: the built server as a real child process, its discovery file, an agent, and token clients. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { calculateJwkThumbprint, decodeJwt } from 'jose'
import { signClientAssertion } from '@writ/sdk'

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
export const SERVER_MAIN = join(REPO_ROOT, 'packages/server/dist/launch.cjs')
const SERVER_SRC = join(REPO_ROOT, 'packages/server/src')
const SERVER_FILE = 'server.json'
const OUTPUT_CAP = 64 * 1024

/**
 * The tests run the compiled server (`npm test` runs `tsc -b` first). When dist is missing it is built once, under a
 * lock directory so that two test files starting together do not both write it; a stale dist is only reported.
 */
export async function ensureServerBuilt(): Promise<void> {
  const lock = join(tmpdir(), 'writ-system-tests-build.lock')
  for (let attempt = 0; !existsSync(SERVER_MAIN); attempt++) {
    if (attempt > 1_200) throw new Error('timed out waiting for another test file to build the server')
    try {
      mkdirSync(lock)
    } catch {
      await sleep(100)
      continue
    }
    try {
      if (!existsSync(SERVER_MAIN)) execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsc'), ['-b'], { cwd: REPO_ROOT, stdio: 'inherit', timeout: 180_000 })
    } finally {
      rmdirSync(lock)
    }
  }
  // tsc -b rewrites only the outputs that changed, but always touches the build info.
  const buildInfo = join(REPO_ROOT, 'packages/server/tsconfig.tsbuildinfo')
  const built = existsSync(buildInfo) ? statSync(buildInfo).mtimeMs : statSync(SERVER_MAIN).mtimeMs
  if (newestMtime(SERVER_SRC) > built) {
    process.stderr.write(`\n*** ${SERVER_MAIN} is older than packages/server/src: run \`tsc -b\` (npm test does) ***\n`)
  }
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path))
    else if (entry.name.endsWith('.ts') && !/\.(test|contract|fixture)\.ts$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

export interface ServerProcess {
  child: ChildProcess
  pid: number
  dataDir: string
  publicUrl: string
  adminUrl: string
  issuer: string
  /** The last 64 KiB the process wrote to stdout and stderr, for failure messages. */
  output(): string
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Sends a signal and waits (bounded) for the exit; SIGKILL follows if the signal was not enough. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** `<dataDir>/server.json`, written by the server once it listens. */
interface ServerFile {
  public_url: string
  admin_url: string
  issuer: string
  pid: number
}

const running = new Set<ChildProcess>()

/** Kills every server this test file started that is still alive (afterAll, and on worker exit). */
export function killAllServers(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  running.clear()
}
process.once('exit', killAllServers)

/**
 * For the load tests: one agent from one loopback address at full speed is far beyond the default rate limits (a
 * real agent's pace), and these tests are about durability and concurrency, so they raise the limits explicitly.
 */
export const LOAD_TEST_RATE_LIMITS: Record<string, string> = {
  WRIT_RATE_LIMITS__PER_AGENT__RATE_PER_SECOND: '1000000', WRIT_RATE_LIMITS__PER_AGENT__BURST: '1000000',
  WRIT_RATE_LIMITS__PER_ADDRESS__RATE_PER_SECOND: '1000000', WRIT_RATE_LIMITS__PER_ADDRESS__BURST: '1000000',
}

/** Starts `node packages/server/dist/launch.cjs` (the server executable) on free ports and waits for its `server.json`. */
export async function startServerProcess(options: { dataDir: string; env?: Record<string, string>; timeoutMs?: number }): Promise<ServerProcess> {
  const serverFile = join(options.dataDir, SERVER_FILE)
  // A file left by a killed run names a dead process; only the new process's file may be read.
  rmSync(serverFile, { force: true })
  const env: NodeJS.ProcessEnv = {}
  // The parent's WRIT_* settings (CI may set some) must not leak into the server under test.
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('WRIT_')) env[name] = value
  Object.assign(env, {
    WRIT_DATA_DIR: options.dataDir, WRIT_SERVER__PORT: '0', WRIT_SERVER__ADMIN_PORT: '0', WRIT_LOG__LEVEL: 'warn', ...options.env,
  })
  const child = spawn(process.execPath, [SERVER_MAIN], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let output = ''
  const collect = (chunk: Buffer) => { output = (output + chunk.toString('utf8')).slice(-OUTPUT_CAP) }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { running.delete(child); resolve({ code, signal }) })
  })
  let hasExited = false
  void exited.then(() => { hasExited = true })

  const deadline = performance.now() + (options.timeoutMs ?? 30_000)
  let info: ServerFile | undefined
  while (!info) {
    if (hasExited) throw new Error(`the server exited before it was ready:\n${output}`)
    if (performance.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`the server was not ready within ${options.timeoutMs ?? 30_000} ms:\n${output}`)
    }
    try {
      const parsed = JSON.parse(readFileSync(serverFile, 'utf8')) as ServerFile
      if (parsed.pid === child.pid) info = parsed
    } catch {
      // Not written yet, or caught half-written: try again.
    }
    if (!info) await sleep(25)
  }

  return {
    child, pid: child.pid as number, dataDir: options.dataDir, exited,
    publicUrl: info.public_url, adminUrl: info.admin_url, issuer: info.issuer,
    output: () => output,
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (!hasExited) child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

export function readAdminToken(dataDir: string): string {
  return readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
}

export interface AgentKey {
  id: string
  privateJwk: JsonWebKey
}

/** Registers an agent allowed `tests.run` through the admin API, with a fresh key pair (private half kept here). */
export async function registerAgent(adminUrl: string, adminToken: string, name: string, algorithm: 'ed25519' | 'p256' = 'ed25519'): Promise<AgentKey> {
  const { privateKey } = algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const privateJwk = privateKey.export({ format: 'jwk' })
  const { d: _d, ...publicJwk } = privateJwk
  const kid = await calculateJwkThumbprint(publicJwk as Parameters<typeof calculateJwkThumbprint>[0])
  privateJwk.kid = kid
  const response = await fetch(`${adminUrl}/v1/agents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name, owner: 'x@example.com', team: 't', platform: 'custom',
      capabilities: [{ id: 'tests.run', risk_level: 'low' }], data_access: [{ resource: 'repo:acme/billing', access_type: 'write', sensitivity: 'internal' }], jwks: { keys: [{ ...publicJwk, kid }] },
    }),
    signal: AbortSignal.timeout(10_000),
  })
  if (response.status !== 201) throw new Error(`registering \`${name}\` failed: ${response.status} ${await response.text()}`)
  const { id } = await response.json() as { id: string }
  return { id, privateJwk }
}

/** One capability request with a fresh assertion addressed to `issuer`. */
export async function requestToken(target: { publicUrl: string; issuer: string }, agent: AgentKey, timeoutMs = 10_000): Promise<Response> {
  const assertion = await signClientAssertion({ privateKey: agent.privateJwk, agentId: agent.id, audience: target.issuer })
  return fetch(`${target.publicUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: agent.id,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
      authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing' }]),
      task_id: 'T-1',
    }).toString(),
    signal: AbortSignal.timeout(timeoutMs),
  })
}

export interface LoadResult {
  /** jti of every token whose 200 response was received in full. */
  jtis: string[]
  /** Count of completed responses by status. */
  statuses: Map<number, number>
  /** Requests that failed without a complete response (connection reset, timeout). */
  networkErrors: number
  firstNetworkError?: unknown
}

/**
 * Runs `concurrency` loops that each request tokens back to back until `stop()` says so, a loop has sent
 * `maxPerLoop` requests, or (with `stopOnNetworkError`) its connection fails. Bounded by construction.
 */
export async function generateLoad(options: {
  target: { publicUrl: string; issuer: string }
  agent: AgentKey
  concurrency: number
  maxPerLoop: number
  stop: () => boolean
  stopOnNetworkError: boolean
}): Promise<LoadResult> {
  const result: LoadResult = { jtis: [], statuses: new Map(), networkErrors: 0 }
  const loop = async () => {
    for (let sent = 0; sent < options.maxPerLoop && !options.stop(); sent++) {
      let status: number
      let body: { access_token?: string } | undefined
      try {
        const response = await requestToken(options.target, options.agent)
        status = response.status
        // Acknowledged means the whole body arrived: a token cut off by the crash never reached the client.
        body = await response.json() as { access_token?: string }
      } catch (error) {
        result.networkErrors++
        result.firstNetworkError ??= error
        if (options.stopOnNetworkError) return
        continue
      }
      result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1)
      if (status === 200 && typeof body?.access_token === 'string') result.jtis.push(jtiOf(body.access_token))
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, loop))
  return result
}

export function jtiOf(accessToken: string): string {
  const { jti } = decodeJwt(accessToken)
  if (typeof jti !== 'string') throw new Error('an issued token has no jti')
  return jti
}

export function duplicates(values: Iterable<string>): string[] {
  const seen = new Set<string>()
  const repeated = new Set<string>()
  for (const value of values) (seen.has(value) ? repeated : seen).add(value)
  return [...repeated]
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
