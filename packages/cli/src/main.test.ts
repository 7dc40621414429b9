import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// These tests run the built executable, as users do; `npm test` builds first, and so does beforeAll (incremental).
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const MAIN = join(ROOT, 'packages/cli/dist/writ.cjs')
const ENV = { PATH: process.env.PATH ?? '' }

function startServe(dataDir: string): Promise<{ child: ChildProcess; stdout: () => string }> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--data-dir', dataDir, '--port', '0', '--admin-port', '0'], { env: ENV })
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr?.resume()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 20_000)
    child.once('exit', (code) => reject(new Error(`serve exited early with ${code}: ${out}`)))
    child.stdout?.on('data', () => {
      if (out.includes('press Ctrl-C to stop')) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve({ child, stdout: () => out })
      }
    })
  })
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code))
    child.kill(signal)
  })
}

describe('the writ executable', () => {
  let dataDir: string
  beforeAll(() => {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b'], { cwd: ROOT, stdio: 'pipe' })
    dataDir = mkdtempSync(join(tmpdir(), 'writ-main-test-'))
  })
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it('serve prints the bootstrap credential once, serves the CLI, and stops cleanly on SIGTERM and SIGINT', async () => {
    const first = await startServe(dataDir)
    const credential = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
    expect(first.stdout()).toContain(credential)
    expect(first.stdout()).toMatch(/public API\s+http:\/\/127\.0\.0\.1:\d+/)
    expect(existsSync(join(dataDir, 'server.json'))).toBe(true)

    const list = spawnSync(process.execPath, [MAIN, '--data-dir', dataDir, 'agent', 'list', '--json'], { env: ENV, encoding: 'utf8' })
    expect(list.status).toBe(0)
    expect(JSON.parse(list.stdout)).toEqual({ agents: [] })

    expect(await stop(first.child, 'SIGTERM')).toBe(0)
    expect(existsSync(join(dataDir, 'server.json'))).toBe(false)

    const second = await startServe(dataDir)
    expect(second.stdout()).not.toContain('writ_admin_')
    expect(await stop(second.child, 'SIGINT')).toBe(0)
  })

  it('login reads the credential from a pipe, and commands then work from any directory', async () => {
    const served = await startServe(dataDir)
    try {
      const credential = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
      const adminUrl = (JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { admin_url: string }).admin_url
      const elsewhere = mkdtempSync(join(tmpdir(), 'writ-elsewhere-'))
      const env = { ...ENV, WRIT_CONFIG_DIR: join(elsewhere, 'config') }
      try {
        const login = spawnSync(process.execPath, [MAIN, 'login', '--server', adminUrl], { env, cwd: elsewhere, input: `${credential}\n`, encoding: 'utf8' })
        expect(login.stderr).toBe('')
        expect(login.status).toBe(0)
        expect(login.stdout).not.toContain(credential)
        const list = spawnSync(process.execPath, [MAIN, 'agent', 'list', '--json'], { env, cwd: elsewhere, encoding: 'utf8' })
        expect(list.status).toBe(0)
        expect(JSON.parse(list.stdout)).toEqual({ agents: [] })
      } finally {
        rmSync(elsewhere, { recursive: true, force: true })
      }
    } finally {
      await stop(served.child, 'SIGTERM')
    }
  })

  it('exits 2 on an invalid configuration and 1 on a failed command, without a stack', () => {
    const config = spawnSync(process.execPath, [MAIN, 'serve', '--print-config'], { env: { ...ENV, WRIT_LOG__LEVEL: 'loud' }, encoding: 'utf8' })
    expect(config.status).toBe(2)
    expect(config.stderr).toContain('  - WRIT_LOG__LEVEL: invalid option')
    const failed = spawnSync(process.execPath, [MAIN, '--data-dir', dataDir, 'agent', 'list'], { env: ENV, encoding: 'utf8' })
    expect(failed.status).toBe(1)
    expect(failed.stderr).toContain('no running server found')
    expect(failed.stderr).not.toMatch(/\n\s+at /)
  })

  it('writ demo exits 0 and prints the verified chain', () => {
    const demo = spawnSync(process.execPath, [MAIN, 'demo'], { env: ENV, encoding: 'utf8', timeout: 60_000 })
    expect(demo.status).toBe(0)
    expect(demo.stdout).toMatch(/audit chain OK \(online\): \d+ records/)
  })
})
