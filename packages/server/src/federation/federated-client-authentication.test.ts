/** Federated client authentication: GitHub Actions- and Kubernetes-shaped tokens, verified over HTTP, mapped to agents. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ASSERTION_TYPE, createDpopKey, signDpopProof } from '@writ/sdk'
import { decodeJwt } from 'jose'
import { createTestApp, ISSUER, type TestApp } from '../test-app.fixture.js'
import type { Agent } from '../agents/agent-document.js'
import { GH_AUDIENCE, githubActionsClaims, K8S_AUDIENCE, kubernetesClaims, registerFederated as register, startExternalIssuer, type ExternalIssuer } from './external-issuer.fixture.js'


describe('federated client authentication', () => {
  let gh: ExternalIssuer
  let k8s: ExternalIssuer
  let t: TestApp
  let ghAgent: Agent
  let k8sAgent: Agent

  beforeAll(async () => {
    gh = await startExternalIssuer()
    k8s = await startExternalIssuer({ alg: 'ES256' })
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
    ghAgent = await register(t, 'gh-deployer', [{
      provider: 'github', subject: 'repo:octo-org/octo-repo:environment:prod',
      claims: { repository: 'octo-org/octo-repo', ref: 'refs/heads/main', environment: 'prod', job_workflow_ref: 'octo-org/octo-automation/.github/workflows/deploy.yml@refs/heads/main' },
    }])
    k8sAgent = await register(t, 'k8s-deployer', [{
      provider: 'cluster', subject: 'system:serviceaccount:payments:deployer',
      claims: { 'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'deployer' } } },
    }])
  })
  afterAll(async () => { await t.close(); await gh.close(); await k8s.close() })

  const request = (agentId: string, assertion: string) => t.token({
    grant_type: 'client_credentials', client_id: agentId, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion,
    authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]), task_id: 'T-7',
  })

  it('registers an agent whose document lists federated identities and no public key', () => {
    expect(ghAgent.document.jwks.keys).toEqual([])
    expect(ghAgent.document.federated_identities[0]?.provider).toBe('github')
  })

  it('issues a capability token to a GitHub Actions job whose claims match the document, verified through discovery and JWKS', async () => {
    const external = await gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE))
    const response = await request(ghAgent.id, external)
    expect(response.status).toBe(200)
    const body = await response.json() as { access_token: string }
    expect(decodeJwt(body.access_token)).toMatchObject({ sub: ghAgent.id, client_id: ghAgent.id })
    expect(gh.hits['/.well-known/openid-configuration']).toBe(1)
    expect(gh.hits['/jwks']).toBe(1)
  })

  it('names the provider, external iss, sub and jti in the audit record of the token, and never the token', async () => {
    const claims = githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE)
    const external = await gh.sign(claims)
    expect((await request(ghAgent.id, external)).status).toBe(200)
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'token.issue', actor: { id: ghAgent.id }, data: { federation: { provider: 'github', iss: gh.issuer, sub: claims.sub, jti: claims.jti } } })
    expect(JSON.stringify(record)).not.toContain(external.split('.')[2])
  })

  it('lets a reusable GitHub token authenticate several requests and caches discovery and keys', async () => {
    const external = await gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE))
    expect((await request(ghAgent.id, external)).status).toBe(200)
    expect((await request(ghAgent.id, external)).status).toBe(200)
    expect(gh.hits['/.well-known/openid-configuration']).toBe(1)
    expect(gh.hits['/jwks']).toBe(1)
  })

  it('accepts a Kubernetes service-account token once and refuses its replay (single-use provider)', async () => {
    const external = await k8s.sign(kubernetesClaims(t.clock.nowSeconds(), K8S_AUDIENCE), { typ: undefined })
    expect((await request(k8sAgent.id, external)).status).toBe(200)
    const replay = await request(k8sAgent.id, external)
    expect(replay.status).toBe(401)
    expect(await replay.json()).toMatchObject({ error: 'invalid_client', writ_code: 'CLIENT_ASSERTION_REPLAYED' })
  })

  it('keeps the single-use key scoped to the provider: the same jti is spent whichever agent the request names', async () => {
    const external = await k8s.sign(kubernetesClaims(t.clock.nowSeconds(), K8S_AUDIENCE))
    expect((await request(k8sAgent.name, external)).status).toBe(200)
    expect((await request(k8sAgent.id, external)).status).toBe(401)
  })

  it('does not let a token for one agent authenticate as another', async () => {
    const external = await gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE))
    const response = await request(k8sAgent.id, external)
    expect(response.status).toBe(401)
    const body = await response.json() as Record<string, unknown>
    expect(body).toMatchObject({ error: 'invalid_client' })
    expect(body.reasons).toBeUndefined()
    const [record] = await t.storage.audit.tail(1)
    expect(record).toMatchObject({ type: 'client.authentication_fail', decision: { reasons: ['federated_identity_unmatched'] } })
  })

  it('binds the token to a DPoP proof sent with a reusable platform token, and spends the proof, not the token', async () => {
    const key = await createDpopKey()
    const external = await gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE))
    const send = (dpop: string) => t.app.publicApp.request('/oauth/token', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop },
      body: new URLSearchParams({
        grant_type: 'client_credentials', client_id: ghAgent.id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: external,
        authorization_details: JSON.stringify([{ type: 'writ_action', action: 'tests.run', resource: 'repo:acme/billing', actions: ['read'] }]), task_id: 'T-7',
      }).toString(),
    })
    const proof = await signDpopProof(key, { htm: 'POST', htu: `${ISSUER}/oauth/token`, now: () => t.clock.nowSeconds() })
    const bound = await send(proof)
    expect(bound.status).toBe(200)
    const body = await bound.json() as { access_token: string; token_type: string }
    expect(body.token_type).toBe('DPoP')
    expect(decodeJwt(body.access_token)).toMatchObject({ cnf: { jkt: key.jkt } })
    // The same proof again is refused; the same platform token with a fresh proof is not.
    expect(await (await send(proof)).json()).toMatchObject({ writ_code: 'DPOP_PROOF_INVALID' })
    const fresh = await signDpopProof(key, { htm: 'POST', htu: `${ISSUER}/oauth/token`, now: () => t.clock.nowSeconds() })
    expect((await send(fresh)).status).toBe(200)
  })

  it('refetches the JWKS for unknown kids at a bounded rate: a flood of made-up kids costs no fetch within the cooldown', async () => {
    const before = gh.hits['/jwks'] ?? 0
    for (let i = 0; i < 5; i++) {
      const forged = await gh.sign(githubActionsClaims(t.clock.nowSeconds(), GH_AUDIENCE), { kid: `made-up-${i}` })
      expect((await request(ghAgent.id, forged)).status).toBe(401)
    }
    expect(gh.hits['/jwks']).toBe(before)
  })
})

