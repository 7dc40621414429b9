/** Starts a built Writ server for a benchmark: its own process and fresh data directory, ephemeral ports. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnNode, stop } from './proc.js'

export const BENCH_RATE_LIMITS = {
  WRIT_RATE_LIMITS__PER_AGENT__RATE_PER_SECOND: '1000000', WRIT_RATE_LIMITS__PER_AGENT__BURST: '1000000',
  WRIT_RATE_LIMITS__PER_ADDRESS__RATE_PER_SECOND: '1000000', WRIT_RATE_LIMITS__PER_ADDRESS__BURST: '1000000',
}

/**
 * Spawns the server of the checkout at `serverRoot` with the node flags it ships with (the shebangs and `npm start`
 * carry the same list) plus `nodeArgs`, and resolves once it wrote `server.json`. Returns that file's contents
 * (`pid`, `public_url`, `admin_url`), the data directory, the rate-limit variables it set, and `stop()`, which
 * also removes the directory. `env` adds configuration variables (e.g. PostgreSQL storage for replicas).
 */
export async function startWritServer(serverRoot, { nodeArgs = [], timeoutMs = 30_000, env = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'writ-bench-'))
  // The benchmarks drive one agent from one loopback address at thousands of tokens/s, far beyond the default rate
  // limits (50/s per agent, 500/s per address), so they raise them explicitly: the limiter still runs on every request,
  // and is measured, but never refuses. A checkout from before the limits existed would reject the unknown keys.
  const rateLimits = existsSync(join(serverRoot, 'packages/server/dist/rate-limits/rate-limits.js')) ? BENCH_RATE_LIMITS : {}
  const { SERVER_NODE_FLAGS } = await import(join(serverRoot, 'packages/server/dist/node-flags.js')).catch(() => ({ SERVER_NODE_FLAGS: [] }))
  const child = spawnNode([
    ...SERVER_NODE_FLAGS,
    ...nodeArgs,
    // The server executable (its process defaults, then main.js); a checkout from before it existed runs main.js.
    [join(serverRoot, 'packages/server/dist/launch.cjs'), join(serverRoot, 'packages/server/dist/main.js')].find((f) => existsSync(f)),
  ], {
    cwd: serverRoot,
    env: { WRIT_DATA_DIR: dataDir, WRIT_SERVER__PORT: '0', WRIT_SERVER__ADMIN_PORT: '0', WRIT_LOG__LEVEL: 'warn', ...rateLimits, ...env },
  })
  const stopServer = async () => {
    await stop(child, 15_000)
    rmSync(dataDir, { recursive: true, force: true })
  }
  const ready = join(dataDir, 'server.json')
  try {
    for (const deadline = Date.now() + timeoutMs; !existsSync(ready);) {
      if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}) before it was ready`)
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${ready}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  } catch (error) {
    await stopServer()
    throw error
  }
  return { server: JSON.parse(readFileSync(ready, 'utf8')), dataDir, stop: stopServer, rateLimits }
}
