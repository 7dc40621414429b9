import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SERVER_NODE_FLAGS } from '../packages/server/src/node-flags.js'
import { REPO_ROOT } from './server-process.fixture.js'

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8')
const EXECUTABLES = ['packages/cli/src/writ.cts', 'packages/server/src/launch.cts']

describe('the node flags the server ships with', () => {
  it('are the same in both executables and in npm start', () => {
    const flags = SERVER_NODE_FLAGS.join(' ')
    expect(flags).not.toBe('')
    for (const entry of EXECUTABLES) expect(read(entry).split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`)
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start
    expect(start).toContain(`node ${flags} packages/cli/dist/writ.cjs serve`)
  })
})

describe('the process defaults', () => {
  // Built CommonJS, as the executables load it (npm test builds first).
  const applyProcessDefaults = createRequire(import.meta.url)(join(REPO_ROOT, 'packages/server/dist/process-defaults.cjs')) as
    (env: NodeJS.ProcessEnv, cores: number) => void

  it('size the thread pool one below the cores, at least one, and keep a size the operator set', () => {
    for (const [cores, size] of [[1, '1'], [2, '1'], [8, '7']] as const) {
      const env: NodeJS.ProcessEnv = {}
      applyProcessDefaults(env, cores)
      expect(env.UV_THREADPOOL_SIZE).toBe(size)
    }
    const env: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: '16' }
    applyProcessDefaults(env, 2)
    expect(env.UV_THREADPOOL_SIZE).toBe('16')
  })

  it('are applied by both executables before the ES module entry is imported', () => {
    for (const entry of EXECUTABLES) {
      const text = read(entry)
      expect(text.indexOf('applyProcessDefaults()')).toBeGreaterThan(0)
      expect(text.indexOf('applyProcessDefaults()')).toBeLessThan(text.indexOf("import('./main.js')"))
    }
  })
})
