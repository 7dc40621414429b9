/** DPoP with workload identities: the jwt-bearer grant and federated client authentication bind tokens like any grant. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import { CLIENT_ASSERTION_TYPE, GRANT_TYPES, createDpopKey, signDpopProof, type DpopKey } from '@writ/sdk'
import { createTestApp, ISSUER, type TestApp } from '../test-app.fixture.js'
import type { Agent } from '../agents/agent-document.js'
import { GH_AUDIENCE, githubActionsClaims, registerFederated, startExternalIssuer, type ExternalIssuer } from './external-issuer.fixture.js'

describe('DPoP with federated workloads', () => {
  let gh: ExternalIssuer
  let t: TestApp
  let agent: Agent
  let key: DpopKey

  beforeAll(async () => {
    gh = await startExternalIssuer()
    t = await createTestApp({ config: { trust: { providers: [{ name: 'github', issuer: gh.issuer, audience: GH_AUDIENCE, kind: 'github-actions' }] } } })
    agent = await registerFederated(t, 'gh-deployer', [{ provider: 'github', subject: 'repo:octo-org/octo-repo:environment:prod', claims: { environment: 'prod' } }])
    key = await createDpopKey()
  })
  afterAll(async () => { await t.close(); await gh.close() })

  const post = async (fields: Record<string, string>, dpop: string | undefined) => t.app.publicApp.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop !== undefined ? { dpop } : {}) },
    body: new URLSearchParams({
      authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]),
      task_id: 'T-12', ...fields,
    }).toString(),
  })
  const proof = () => signDpopProof(key, { htm: 'POST', htu: `${ISSUER}/oauth/token`, now: () => t.clock.nowSeconds() })
  const workloadToken = () => gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE))

  it('the jwt-bearer grant binds the token to the proof key, and a replayed proof is refused with a reusable workload token', async () => {
    const dpop = await proof()
    const token = await workloadToken()
    const response = await post({ grant_type: GRANT_TYPES.jwtBearer, assertion: token, client_id: agent.id }, dpop)
    expect(response.status).toBe(200)
    const body = await response.json() as { access_token: string; token_type: string }
    expect(body.token_type).toBe('DPoP')
    expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt })
    // The provider's tokens are reusable (not single use), but the proof is spent all the same.
    const replay = await post({ grant_type: GRANT_TYPES.jwtBearer, assertion: token, client_id: agent.id }, dpop)
    expect(await replay.json()).toMatchObject({ error: 'invalid_dpop_proof', reasons: ['dpop_proof_replayed'] })
  })

  it('federated client authentication with client_credentials binds the token too', async () => {
    const response = await post({
      grant_type: 'client_credentials', client_id: agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await workloadToken(),
    }, await proof())
    expect(response.status).toBe(200)
    expect(decodeJwt((await response.json() as { access_token: string }).access_token).cnf).toEqual({ jkt: key.jkt })
  })
})
