// Regenerates the reference pages that tests keep equal to the code: docs/configuration.md and docs/errors.md.
import { writeFileSync } from 'node:fs'
import { configReference } from '../packages/server/dist/index.js'
import { ERROR_CODES } from '../packages/sdk/dist/index.js'

const docs = new URL('../docs/', import.meta.url)
writeFileSync(new URL('configuration.md', docs), configReference())

const rows = Object.entries(ERROR_CODES).map(([code, s]) => `| \`${code}\` | ${s.status} | \`${s.oauth}\` | ${s.title} |`)
writeFileSync(new URL('errors.md', docs), [
  '# Error codes',
  '',
  'Every error Writ returns carries one of these stable codes: in RFC 9457 problem+json as `code` (admin API), and in',
  'OAuth error responses as `writ_code` beside the standard `error` (`/oauth/*`). Codes are added, never renamed.',
  'The SDK rebuilds the same `WritError` from either body, so `switch (err.code)` works on both sides.',
  '',
  '| code | HTTP | OAuth `error` | meaning |',
  '|---|---|---|---|',
  ...rows,
  '',
].join('\n'))
