/**
 * Test support: a local OIDC-style issuer over real HTTP (discovery + JWKS), signing with jose, and the claim sets of
 * GitHub Actions and Kubernetes service-account tokens as those platforms issue them.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose'
import type { Agent } from '../agents/agent-document.js'
import { exampleDocument, type TestApp } from '../test-app.fixture.js'

export const GH_AUDIENCE = 'https://writ.example/github'
export const K8S_AUDIENCE = 'https://writ.example/k8s'

/** deploy-bot's document under another name, with these federated identities and no public key. */
export async function registerFederated(t: TestApp, name: string, identities: unknown[]): Promise<Agent> {
  const response = await t.admin('POST', '/v1/agents', { ...exampleDocument('deploy-bot'), name, federated_identities: identities })
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${await response.text()}`)
  return await response.json() as Agent
}

export interface ExternalIssuer {
  /** `http://127.0.0.1:<port>`: the exact `iss`. */
  issuer: string
  kid: string
  /** Requests served so far, by path. */
  hits: Record<string, number>
  sign(claims: JWTPayload, header?: Record<string, unknown>): Promise<string>
  /** A new signing key: published in the JWKS, the old one dropped. */
  rotate(): Promise<void>
  close(): Promise<void>
}

export async function startExternalIssuer(options: { alg?: 'RS256' | 'ES256'; discoveryIssuer?: string } = {}): Promise<ExternalIssuer> {
  const alg = options.alg ?? 'RS256'
  let key = await newKey(alg)
  const hits: Record<string, number> = {}
  let issuer = ''
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/'
    hits[path] = (hits[path] ?? 0) + 1
    res.setHeader('content-type', 'application/json')
    if (path === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer: options.discoveryIssuer ?? issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: [alg] }))
    } else if (path === '/jwks') {
      res.end(JSON.stringify({ keys: [key.publicJwk] }))
    } else {
      res.statusCode = 404
      res.end('{}')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    issuer,
    get kid() { return key.publicJwk.kid as string },
    hits,
    sign: (claims, header = {}) => new SignJWT({ iss: issuer, ...claims })
      .setProtectedHeader({ alg, typ: 'JWT', kid: key.publicJwk.kid as string, ...header } as Parameters<SignJWT['setProtectedHeader']>[0])
      .sign(key.privateKey),
    async rotate() { key = await newKey(alg) },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

async function newKey(alg: string): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  publicJwk.kid = await calculateJwkThumbprint(publicJwk)
  publicJwk.alg = alg
  publicJwk.use = 'sig'
  return { privateKey, publicJwk }
}

/** The claims of a GitHub Actions OIDC token for a job in `environment` (what token.actions.githubusercontent.com signs). */
export function githubActionsClaims(nowSeconds: number, audience: string, over: Record<string, unknown> = {}): JWTPayload {
  return {
    jti: randomUUID(),
    sub: 'repo:octo-org/octo-repo:environment:prod',
    aud: audience,
    ref: 'refs/heads/main',
    sha: 'd6e2c8f25f8a4b3c9d0e1f2a3b4c5d6e7f8a9b0c',
    repository: 'octo-org/octo-repo',
    repository_owner: 'octo-org',
    repository_owner_id: '65432',
    repository_id: '74123',
    repository_visibility: 'private',
    run_id: '9876543210',
    run_number: '42',
    run_attempt: '1',
    runner_environment: 'github-hosted',
    actor: 'octocat',
    actor_id: '583231',
    workflow: 'deploy',
    head_ref: '',
    base_ref: '',
    event_name: 'push',
    ref_type: 'branch',
    ref_protected: 'true',
    environment: 'prod',
    job_workflow_ref: 'octo-org/octo-automation/.github/workflows/deploy.yml@refs/heads/main',
    job_workflow_sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    workflow_ref: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main',
    workflow_sha: 'd6e2c8f25f8a4b3c9d0e1f2a3b4c5d6e7f8a9b0c',
    nbf: nowSeconds - 5,
    iat: nowSeconds,
    exp: nowSeconds + 300,
    ...over,
  }
}

/** The claims of a projected Kubernetes service-account token (TokenRequest API, bound to a pod). */
export function kubernetesClaims(nowSeconds: number, audience: string, over: Record<string, unknown> = {}, ns = 'payments', account = 'deployer'): JWTPayload {
  return {
    aud: [audience],
    exp: nowSeconds + 3_600,
    iat: nowSeconds,
    nbf: nowSeconds,
    jti: randomUUID(),
    'kubernetes.io': {
      namespace: ns,
      node: { name: 'node-a', uid: '1f0c6b9e-3d2a-4c55-9a1e-0b7d2f6e8c41' },
      pod: { name: 'deployer-7c9d8b6f5-x2kq4', uid: 'b8f1d0e2-6a4c-4f3b-8e2d-9c1a7b5e3f60' },
      serviceaccount: { name: account, uid: '0a7e5c3b-1d9f-4e2a-b6c8-3f5d7e9a1b2c' },
      warnafter: nowSeconds + 3_000,
    },
    sub: `system:serviceaccount:${ns}:${account}`,
    ...over,
  }
}
