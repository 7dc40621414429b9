import { it } from 'vitest'
import { runWrit } from './test-cli.fixture.js'
it('smoke', async () => {
  for (const args of [['policy', 'validate', 'examples/policies', '--offline'], ['policy', 'schema', '--offline', '--action', 'deploy.run'], ['token', 'request', '--help'], ['policy', '--help']]) {
    const r = await runWrit(args)
    console.log(args.join(' '), r.code, '\n', r.stdout, '\n', r.stderr)
  }
})
