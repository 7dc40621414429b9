/** The SDK's agent client with a platform token instead of a key: federated client authentication and the jwt-bearer grant. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import { createAgentClient, WritError } from '@writ/sdk'
import { createTestApp, ISSUER, type TestApp } from '../test-app.fixture.js'
import type { Agent } from '../agents/agent-document.js'
import { GH_AUDIENCE, githubActionsClaims, registerFederated, startExternalIssuer, type ExternalIssuer } from './external-issuer.fixture.js'

describe('SDK agent client with an external token', () => {
  let gh: ExternalIssuer
  let t: TestApp
  let agent: Agent
  const request = { action: 'tests.run', resource: 'repo:acme/billing', access: 'read' as const, taskId: 'T-12' }

  beforeAll(async () => {
    gh = await startExternalIssuer()
    t = await createTestApp({ config: { trust: { providers: [{ name: 'github', issuer: gh.issuer, audience: GH_AUDIENCE, kind: 'github-actions' }] } } })
    agent = await registerFederated(t, 'gh-deployer', [{ provider: 'github', subject: 'repo:octo-org/octo-repo:environment:prod' }])
  })
  afterAll(async () => { await t.close(); await gh.close() })

  // The in-process app answers for Writ's issuer URL; the external issuer is real HTTP.
  const fetchWrit: typeof fetch = (input, init) => Promise.resolve(t.app.publicApp.request(String(input).replace(ISSUER, ''), init))
  const client = () => createAgentClient({
    issuer: ISSUER, agent: agent.name, fetch: fetchWrit,
    externalToken: () => gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE)),
  })

  it('authenticates with the platform token as its client assertion', async () => {
    const grant = await client().requestCapability(request)
    expect(decodeJwt(grant.accessToken)).toMatchObject({ sub: agent.id, task: { id: 'T-12' } })
  })

  it('uses the platform token as a jwt-bearer grant', async () => {
    const grant = await client().requestCapabilityWithAssertion(request)
    expect(decodeJwt(grant.accessToken)).toMatchObject({ sub: agent.id })
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'token.issue', data: { grant_type: 'jwt-bearer', federation: { provider: 'github' } } })
  })

  it('throws EXTERNAL_TOKEN_INVALID for an assertion that maps to no agent', async () => {
    const other = await gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE, { sub: 'repo:octo-org/octo-repo:environment:dev' }))
    const error = await client().requestCapabilityWithAssertion(request, { assertion: other }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WritError)
    expect(error).toMatchObject({ code: 'EXTERNAL_TOKEN_INVALID' })
  })

  it('takes exactly one of privateKey and externalToken', () => {
    expect(() => createAgentClient({ issuer: ISSUER, agent: 'a' })).toThrow(TypeError)
    expect(() => createAgentClient({ issuer: ISSUER, agent: 'a', privateKey: { kty: 'OKP' }, externalToken: () => 'x' })).toThrow(TypeError)
  })
})
