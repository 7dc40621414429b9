import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Tests import the workspace packages from source, so `vitest` never runs against a stale build.
export default defineConfig({
  resolve: {
    alias: {
      '@writ/sdk': fileURLToPath(new URL('./packages/sdk/src/index.ts', import.meta.url)),
      '@writ/host': fileURLToPath(new URL('./packages/host/src/index.ts', import.meta.url)),
      '@writ/server': fileURLToPath(new URL('./packages/server/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
