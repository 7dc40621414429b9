/**
 * Test support: `oidc-provider` as the humans' identity provider, on a real HTTP port. `login(user)` signs the user in
 * through its development interactions (login form, then consent) and redeems the code with `openid-client`, so the
 * ID token is genuinely issued by the provider.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'
import * as client from 'openid-client'

export const HUMAN_CLIENT_ID = 'writ-console'
const CLIENT_SECRET = 'a-test-client-secret-of-enough-length'
const REDIRECT_URI = 'http://127.0.0.1/callback'

export interface HumanIdentityProvider {
  issuer: string
  /** Signs `user` in and returns the ID token the provider issued. */
  login(user: string): Promise<string>
  close(): Promise<void>
}

export async function startHumanIdentityProvider(groups: Record<string, string[]> = {}): Promise<HumanIdentityProvider> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const provider = new Provider(issuer, {
    clients: [{
      client_id: HUMAN_CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'idp-key-1', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: ['cookie-signing-key-for-tests-only'] },
    claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
    // The ID token carries the requested claims itself (Writ reads groups from it, not from userinfo).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, email: `${id}@example.com`, groups: groups[id] ?? [] }),
    }),
  })
  server.on('request', provider.callback())

  return {
    issuer,
    async login(user) {
      const config = await client.discovery(new URL(issuer), HUMAN_CLIENT_ID, CLIENT_SECRET, client.ClientSecretBasic(CLIENT_SECRET), {
        execute: [client.allowInsecureRequests],
      })
      const verifier = client.randomPKCECodeVerifier()
      const nonce = client.randomNonce()
      const start = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI, scope: 'openid email groups', nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      })
      const callback = await browse(start, issuer, user)
      const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedNonce: nonce, idTokenExpected: true })
      return tokens.id_token as string
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

/** A minimal browser: follows redirects with a cookie jar and answers the login and consent prompts. */
async function browse(start: URL, issuer: string, user: string): Promise<URL> {
  const jar = new Map<string, string>()
  let url = start.href
  let body: URLSearchParams | undefined
  for (let step = 0; step < 12; step++) {
    const response = await fetch(url, {
      method: body ? 'POST' : 'GET', redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(body ? { body: body.toString() } : {}),
    })
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';')
      const at = pair!.indexOf('=')
      jar.set(pair!.slice(0, at), pair!.slice(at + 1))
    }
    const location = response.headers.get('location')
    if (location?.startsWith(REDIRECT_URI)) return new URL(location)
    if (location) {
      url = new URL(location, url).href
      // The interaction page: log in first, then consent (devInteractions' two prompts).
      body = undefined
      continue
    }
    const page = await response.text()
    if (!url.startsWith(`${issuer}/interaction/`)) throw new Error(`unexpected page at ${url}: ${response.status}`)
    body = page.includes('name="prompt" value="login"')
      ? new URLSearchParams({ prompt: 'login', login: user, password: 'any' })
      : new URLSearchParams({ prompt: 'consent' })
  }
  throw new Error('the login did not finish')
}
