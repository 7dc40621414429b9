import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SERVER_NODE_FLAGS } from '../packages/server/src/node-flags.js'
import { REPO_ROOT } from './server-process.fixture.js'

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8')

describe('the node flags the server ships with', () => {
  it('are the same in both shebangs and in npm start', () => {
    const flags = SERVER_NODE_FLAGS.join(' ')
    expect(flags).not.toBe('')
    for (const entry of ['packages/cli/src/main.ts', 'packages/server/src/main.ts']) {
      expect(read(entry).split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`)
    }
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start
    expect(start).toContain(`node ${flags} packages/cli/dist/main.js serve`)
  })
})
