/** Test support: join tokens, SSH host key lines and enrolled hosts through the real endpoints. */
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { CLIENT_ASSERTION_TYPE, signClientAssertion } from '@writ/sdk'
import { ISSUER, type TestApp } from '../test-app.fixture.js'
import { newKeyPair } from '../resource-servers/resource-server-test.fixture.js'
import type { EnrollmentResult } from './enroll-host.js'

/** An `ssh-ed25519 AAAA...` line for a fresh key (the OpenSSH wire format, RFC 8709). */
export function sshEd25519Line(comment = ''): string {
  const { publicKey } = generateKeyPairSync('ed25519')
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url')
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)])
  return `ssh-ed25519 ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`
}

export function sshString(value: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(value.length)
  return Buffer.concat([length, value])
}

export async function createJoinToken(t: TestApp, body: Record<string, unknown> = {}): Promise<{ id: string; token: string; expires_at: string }> {
  const response = await t.admin('POST', '/v1/hosts/join-tokens', body)
  if (response.status !== 201) throw new Error(`join token failed: ${response.status} ${await response.text()}`)
  return response.json() as Promise<{ id: string; token: string; expires_at: string }>
}

export function enroll(t: TestApp, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(t.app.publicApp.request('/hosts/enroll', {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
  }))
}

export interface TestHost {
  enrolled: EnrollmentResult
  privateJwk: JsonWebKey
  publicJwk: JsonWebKey
  sshHostKey: string
  clientAuth(): Promise<Record<string, string>>
  /** Writ's API token for this host (client_credentials, scope=writ:revocations). */
  apiToken(): Promise<string>
}

export async function enrollTestHost(t: TestApp, name: string, labels: Record<string, string> = {}): Promise<TestHost> {
  const { token } = await createJoinToken(t, { labels })
  const { privateJwk, publicJwk } = await newKeyPair()
  const sshHostKey = sshEd25519Line()
  const response = await enroll(t, { join_token: token, name, client_public_key: publicJwk, ssh_host_public_key: sshHostKey })
  if (response.status !== 201) throw new Error(`enroll failed: ${response.status} ${await response.text()}`)
  const enrolled = await response.json() as EnrollmentResult
  const clientAuth = async () => ({
    client_id: enrolled.host_id, client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await signClientAssertion({ privateKey: privateJwk, agentId: enrolled.host_id, audience: ISSUER, now: () => t.clock.nowSeconds() }),
  })
  return {
    enrolled, privateJwk, publicJwk, sshHostKey, clientAuth,
    async apiToken() {
      const answer = await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', ...(await clientAuth()) })
      if (answer.status !== 200) throw new Error(`api token failed: ${answer.status} ${await answer.text()}`)
      return ((await answer.json()) as { access_token: string }).access_token
    },
  }
}
