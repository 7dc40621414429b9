/**
 * Test support for the SSH endpoints: hosts enrolled through the real endpoints with their API tokens, capability tokens
 * signed with the app's own key (the claims a mint would write), and OpenSSH key pairs made with node:crypto.
 */
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLIENT_ASSERTION_TYPE, TOKEN_TYPES, signClientAssertion, type CapabilityClaims } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { newKeyPair } from '../resource-servers/resource-server-test.fixture.js'
import { createJoinToken, enroll } from '../hosts/host-test.fixture.js'
import { timeOrderedId } from '../tokens/token-id.js'
import { ed25519PublicKey } from './ssh-public-key.js'

export interface TestHost {
  name: string
  id: string
  hostKey: { privateKeyFile: string; publicLine: string }
  apiToken(): Promise<string>
}

export interface SshTestApp {
  t: TestApp
  agent: TestAgent
  dir: string
  /** Enrolls a host through the real endpoints (join token, POST /hosts/enroll) with an ssh-keygen host key. */
  addHost(name: string): Promise<TestHost>
  removeHost(name: string): Promise<void>
  /** A capability token as the mint writes it for ssh.login (or any action) on `host:<name>`. */
  capability(options?: Partial<{ action: string; resource: string; aud: string; parameters: Record<string, unknown>; lifetime: number; cnf: { jkt: string }; task: string; iat: number; parent: string }>): Promise<{ token: string; claims: CapabilityClaims }>
  exchange(token: string, publicKey: string, headers?: Record<string, string>): Promise<Response>
  close(): Promise<void>
}

type TestAppOptions = NonNullable<Parameters<typeof createTestApp>[0]>

/** `agent`: a replica on the same storage uses the agent the first one registered. */
export async function createSshTestApp(options: { startMs?: number; config?: TestAppOptions['config']; storage?: TestAppOptions['storage']; agent?: TestAgent } = {}): Promise<SshTestApp> {
  const t = await createTestApp({
    ...(options.startMs ? { startMs: options.startMs } : {}), ...(options.config ? { config: options.config } : {}), ...(options.storage ? { storage: options.storage } : {}),
  })
  const agent = options.agent ?? await t.register(exampleDocument('sre-responder'))
  const dir = mkdtempSync(join(tmpdir(), 'writ-ssh-'))
  return {
    t, agent, dir,
    async addHost(name) {
      const privateKeyFile = join(dir, `host-${name}-key`)
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', privateKeyFile])
      const publicLine = readFileSync(`${privateKeyFile}.pub`, 'utf8').trim()
      const { token } = await createJoinToken(t)
      const { publicJwk, privateJwk } = await newKeyPair()
      const response = await enroll(t, { join_token: token, name, client_public_key: publicJwk, ssh_host_public_key: publicLine })
      if (response.status !== 201) throw new Error(`enroll failed: ${response.status} ${await response.text()}`)
      const { host_id: id } = await response.json() as { host_id: string }
      return {
        name, id, hostKey: { privateKeyFile, publicLine },
        async apiToken() {
          const assertion = await signClientAssertion({ privateKey: privateJwk, agentId: id, audience: ISSUER, now: () => t.clock.nowSeconds() })
          const answer = await t.token({ grant_type: 'client_credentials', scope: 'writ:revocations', client_id: id, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion })
          if (answer.status !== 200) throw new Error(`api token: ${answer.status} ${await answer.text()}`)
          return ((await answer.json()) as { access_token: string }).access_token
        },
      }
    },
    async removeHost(name) {
      const response = await t.admin('DELETE', `/v1/hosts/${name}`, { reason: 'test' })
      if (response.status >= 300) throw new Error(`remove failed: ${response.status} ${await response.text()}`)
    },
    async capability(o = {}) {
      const now = o.iat ?? t.clock.nowSeconds()
      const resource = o.resource ?? 'host:web-1'
      const claims: CapabilityClaims = {
        iss: ISSUER, sub: agent.agent.id, client_id: agent.agent.id,
        aud: o.aud ?? `urn:writ:host:${resource.replace(/^host:/, '')}`,
        iat: now, exp: now + (o.lifetime ?? 300), jti: timeOrderedId(t.clock.nowMs() + Math.floor(Math.random() * 1000)),
        authorization_details: [{ type: 'writ_action', action: o.action ?? 'ssh.login', resource, parameters: o.parameters ?? { principals: ['deploy'], extensions: ['permit-pty'] } }],
        task: { id: o.task ?? 'T-ssh' },
        ...(o.cnf ? { cnf: o.cnf } : {}),
        ...(o.parent ? { parent: o.parent, sub: 'alice@example.com', act: { sub: agent.agent.id } } : {}),
      }
      const signed = t.app.keys.sign(TOKEN_TYPES.capability, claims as unknown as Record<string, unknown>)
      return { token: await signed.jws, claims }
    },
    exchange(token, publicKey, headers = {}) {
      return Promise.resolve(t.app.publicApp.request('/ssh/certificates', {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ public_key: publicKey }),
      }))
    },
    async close() {
      await t.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** An Ed25519 key pair: the node key and its OpenSSH public line. */
export function newSshKey(): { privateKey: KeyObject; line: string } {
  const { privateKey } = generateKeyPairSync('ed25519')
  return { privateKey, line: ed25519PublicKey(privateKey).line }
}

/** `ssh-keygen -L` of a certificate line, parsed into its fields. */
export function readCertificate(dir: string, line: string): Record<string, string | string[]> {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}-cert.pub`)
  writeFileSync(file, `${line}\n`)
  // ssh-keygen prints validity in local time: UTC, whatever the machine's zone.
  const text = execFileSync('ssh-keygen', ['-L', '-f', file], { env: { ...process.env, TZ: 'UTC' } }).toString()
  const fields: Record<string, string | string[]> = {}
  let list: string[] | undefined
  for (const raw of text.split('\n').slice(1)) {
    if (raw.trim() === '') continue
    const m = /^ {8}([A-Za-z ]+):\s?(.*)$/.exec(raw)
    if (m) {
      const [, key, value] = m as unknown as [string, string, string]
      if (value === '' ) { list = []; fields[key] = list } else { fields[key] = value.trim(); list = undefined }
    } else if (list) {
      list.push(raw.trim())
    }
  }
  return fields
}
