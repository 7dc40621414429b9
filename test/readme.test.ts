/** The README's "Try it" commands, read from the README itself and run in order against a real server on a clean data directory. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const WRIT = join(ROOT, 'packages/cli/dist/writ.cjs')
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')

/** Every `npx writ` line of the shell blocks between "## Try it" and the next level-2 heading, in order. */
export function tryItCommands(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Try it'), readme.indexOf('\n## ', readme.indexOf('## Try it') + 1))
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
  return blocks.flatMap((block) => block.split('\n')).map((line) => line.trim()).filter((line) => line.startsWith('npx writ '))
}

interface Run { code: number | null; stdout: string; stderr: string }

function run(command: string, cwd: string, env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<Run> } {
  // The README's own line, through bash (quotes, redirections, comments), with `npx writ` as the built executable.
  const line = command.replace(/^npx writ /, `"${process.execPath}" "${WRIT}" `)
  const child = spawn('bash', ['-c', line], { cwd, env })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const done = new Promise<Run>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
  return { child, done }
}

describe('the README', () => {
  let cwd: string
  let env: NodeJS.ProcessEnv
  let server: ChildProcess

  beforeAll(async () => {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b'], { cwd: ROOT, stdio: 'pipe' })
    // A user's working directory: the repository's examples and nothing else; HOME and the CLI profile are empty.
    cwd = mkdtempSync(join(tmpdir(), 'writ-readme-'))
    symlinkSync(join(ROOT, 'examples'), join(cwd, 'examples'))
    mkdirSync(join(cwd, 'home'))
    env = { PATH: process.env.PATH ?? '', HOME: join(cwd, 'home'), XDG_CONFIG_HOME: join(cwd, 'home', '.config') }
    // `npm start` is `writ serve` on ./.writ; ephemeral ports here, and a 1 s poll interval to keep --wait short.
    server = spawn(process.execPath, [WRIT, 'serve', '--port', '0', '--admin-port', '0'], {
      cwd, env: { ...env, WRIT_OVERSIGHT__POLL_INTERVAL_SECONDS: '1', WRIT_LOG__LEVEL: 'warn' },
    })
    let out = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000)
      server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)))
      server.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('press Ctrl-C to stop')) {
          clearTimeout(timer)
          server.removeAllListeners('exit')
          resolve()
        }
      })
      server.stderr?.on('data', (chunk: Buffer) => { out += chunk.toString() })
    })
  })

  afterAll(async () => {
    if (server.exitCode === null) {
      await new Promise((resolve) => { server.once('exit', resolve); server.kill('SIGTERM') })
    }
    rmSync(cwd, { recursive: true, force: true })
  })

  it('starts with the two set-up commands', () => {
    expect(README).toContain('npm install && npm start')
    expect(README).toMatch(/^npm test\b/m)
  })

  it('every "Try it" command works, in order, on a clean data directory', async () => {
    const commands = tryItCommands(README)
    expect(commands.length).toBeGreaterThan(15)
    const found: Record<string, string> = {}
    let waiting: Promise<Run> | undefined
    for (const template of commands) {
      // Placeholders are filled from what earlier commands printed, as a reader would copy them.
      const command = template.replace(/<([^>]+)>/g, (whole, name: string) => {
        const value = found[name]
        if (value === undefined) throw new Error(`README: \`${template}\` needs <${name}>, which no earlier command printed`)
        return value
      })
      if (/--wait\b/.test(command)) {
        // The README says to run it in a terminal of its own: it blocks until a human decides.
        waiting = run(command, cwd, env).done
        continue
      }
      const result = await run(command, cwd, env).done
      const context = `${command}\nexit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`
      if (/#.*\brefused\b/.test(command)) {
        expect(result.code, context).toBe(1)
        expect(result.stderr, context).toMatch(/reasons?:|\[[A-Z_]+\]/)
      } else {
        expect(result.code, context).toBe(0)
      }
      expect(`${result.stdout}${result.stderr}`, context).not.toMatch(/\n\s+at .+:\d+:\d+/)
      if (/admin create/.test(command)) {
        const credential = /writ_admin_[\w-]+/.exec(result.stdout)?.[0]
        const id = /\(id ([^,\s]+),/.exec(result.stdout)?.[1]
        if (credential !== undefined) found['approver credential'] = credential
        if (id !== undefined) found['approver id'] = id
      }
      const authReqId = /\b[0-9a-f]{40}\b/.exec(result.stdout)?.[0]
      if (/approvals list/.test(command) && authReqId !== undefined) found.auth_req_id = authReqId
    }
    expect(waiting, 'the README holds one request for a human (--wait)').toBeDefined()
    const held = await waiting!
    expect(held.code, `held request: ${held.stdout}\n${held.stderr}`).toBe(0)
    expect(held.stdout).toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/)
  }, 180_000)
})
