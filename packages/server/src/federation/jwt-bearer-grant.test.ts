/** The RFC 7523 jwt-bearer authorization grant with workload tokens: no client assertion, the assertion names the agent. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import { GRANT_TYPES } from '@writ/sdk'
import { createTestApp, type TestApp } from '../test-app.fixture.js'
import type { Agent } from '../agents/agent-document.js'
import { GH_AUDIENCE, githubActionsClaims, K8S_AUDIENCE, kubernetesClaims, registerFederated, startExternalIssuer, type ExternalIssuer } from './external-issuer.fixture.js'

describe('jwt-bearer authorization grant', () => {
  let gh: ExternalIssuer
  let k8s: ExternalIssuer
  let t: TestApp
  let ghAgent: Agent
  let k8sAgent: Agent

  beforeAll(async () => {
    gh = await startExternalIssuer()
    k8s = await startExternalIssuer()
    t = await createTestApp({
      config: {
        trust: {
          providers: [
            { name: 'github', issuer: gh.issuer, audience: GH_AUDIENCE, kind: 'github-actions' },
            { name: 'cluster', issuer: k8s.issuer, audience: K8S_AUDIENCE, kind: 'kubernetes', singleUse: true },
          ],
        },
      },
    })
    ghAgent = await registerFederated(t, 'gh-deployer', [{ provider: 'github', subject: 'repo:octo-org/octo-repo:environment:prod', claims: { environment: 'prod' } }])
    k8sAgent = await registerFederated(t, 'k8s-deployer', [{ provider: 'cluster', subject: 'system:serviceaccount:payments:deployer' }])
  })
  afterAll(async () => { await t.close(); await gh.close(); await k8s.close() })

  const grant = (assertion: string, fields: Record<string, string> = {}) => t.token({
    grant_type: GRANT_TYPES.jwtBearer, assertion,
    authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]),
    task_id: 'T-11', ...fields,
  })

  it('issues a capability token for a GitHub Actions token and the agent it names, with no client assertion', async () => {
    const claims = githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE)
    const response = await grant(await gh.sign(claims), { client_id: ghAgent.id })
    expect(response.status).toBe(200)
    const body = await response.json() as { access_token: string; token_type: string }
    expect(body.token_type).toBe('Bearer')
    expect(decodeJwt(body.access_token)).toMatchObject({ sub: ghAgent.id, client_id: ghAgent.id, task: { id: 'T-11' } })
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'token.issue', data: { grant_type: 'jwt-bearer', federation: { provider: 'github', iss: gh.issuer, sub: claims.sub, jti: claims.jti } } })
  })

  it('takes the agent by name as well as by id', async () => {
    const response = await grant(await gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE)), { client_id: 'gh-deployer' })
    expect(response.status).toBe(200)
  })

  it('runs the same policy path: an undeclared action is denied as for client_credentials', async () => {
    const response = await grant(await gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE)), {
      client_id: ghAgent.id, authorization_details: JSON.stringify([{ type: 'writ_action', action: 'db.drop', resource: 'repo:acme/billing' }]),
    })
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ writ_code: 'POLICY_DENIED' })
  })

  it('spends a single-use provider token once', async () => {
    const assertion = await k8s.sign(kubernetesClaims(t.clock.nowSeconds(), K8S_AUDIENCE))
    expect((await grant(assertion, { client_id: k8sAgent.id })).status).toBe(200)
    expect((await grant(assertion, { client_id: k8sAgent.id })).status).toBe(401)
  })

  it('answers invalid_grant with no reason when the token matches no document, and audits the reason', async () => {
    const response = await grant(await gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE, { environment: 'dev' })), { client_id: ghAgent.id })
    expect(response.status).toBe(400)
    const body = await response.json() as Record<string, unknown>
    expect(body).toMatchObject({ error: 'invalid_grant', writ_code: 'EXTERNAL_TOKEN_INVALID' })
    expect(body.reasons).toBeUndefined()
    expect((await t.storage.audit.tail(1))[0]).toMatchObject({ type: 'client.authentication_fail', decision: { reasons: ['federated_identity_unmatched'] } })
  })

  it('refuses a token of an untrusted issuer, a missing client_id, and a client assertion beside the grant', async () => {
    const stranger = await startExternalIssuer()
    try {
      const untrusted = await grant(await stranger.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE)), { client_id: ghAgent.id })
      expect(untrusted.status).toBe(400)
      expect(await untrusted.json()).toMatchObject({ error: 'invalid_grant' })
    } finally {
      await stranger.close()
    }
    const token = await gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE))
    expect(await (await grant(token)).json()).toMatchObject({ error: 'invalid_grant' })
    const both = await grant(token, { client_id: ghAgent.id, client_assertion: 'x', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' })
    expect(both.status).toBe(400)
    expect(await both.json()).toMatchObject({ error: 'invalid_request' })
  })

  it('publishes jwt-bearer in grant_types_supported', async () => {
    const metadata = await (await t.app.publicApp.request('/.well-known/oauth-authorization-server')).json() as { grant_types_supported: string[] }
    expect(metadata.grant_types_supported).toContain(GRANT_TYPES.jwtBearer)
  })

  it('lists the providers on the admin API', async () => {
    const response = await t.admin('GET', '/v1/trust')
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      providers: [{ name: 'github', issuer: gh.issuer, kind: 'github-actions', single_use: false }, { name: 'cluster', kind: 'kubernetes', single_use: true }],
      human_issuers: [],
    })
  })
})
