// Drift guards for docs/tokens.md: the metadata it shows is the metadata the server publishes, and the constants match.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { LIFETIMES, SIZE_LIMITS } from '@writ/sdk'
import { authorizationServerMetadata } from '../packages/server/src/tokens/token-routes.js'

const doc = readFileSync(new URL('../docs/tokens.md', import.meta.url), 'utf8')

describe('docs/tokens.md', () => {
  it('shows the RFC 8414 metadata exactly as the server publishes it', () => {
    const section = doc.slice(doc.indexOf('### `GET /.well-known/oauth-authorization-server`'))
    const shown = /```json\n([\s\S]*?)```/.exec(section)?.[1]
    expect(JSON.parse(shown!)).toEqual(authorizationServerMetadata('https://writ.example.com'))
  })

  it('states the lifetimes and size caps of the profile', () => {
    expect(doc).toContain(`default 300, at most ${LIFETIMES.capabilityMax}`)
    expect(doc).toContain(`default and maximum ${LIFETIMES.clientAssertionMax} s`)
    expect(doc).toContain(`at most ${LIFETIMES.maxLeeway})`)
    expect(LIFETIMES.capabilityDefault).toBe(300)
    expect(doc).toContain(`at most ${SIZE_LIMITS.tokenBytes / 1024} KiB`)
    expect(doc).toContain(`at most ${SIZE_LIMITS.tokenEndpointBodyBytes / 1024} KiB`)
  })
})
