/**
 * A fixture control plane for the host agent tests, until (and beside) the real server: Writ's JWKS, a revocation
 * stream (the SDK's fixture), `POST /hosts/actions` that records reports (and can be taken down), `GET /ssh/krl`.
 * Tokens are minted with jose, shaped as the server mints sudo.exec tokens (docs/tokens.md).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import { startStreamFixture, type StreamFixture } from '../../sdk/src/verify/revocation-stream.fixture.js'
import type { ActionReport } from './host-state.js'

export const API_TOKEN = 'fixture-host-api-token'

export interface HostIssuerFixture {
  issuer: string
  stream: StreamFixture
  /** Reports the server accepted, deduplicated by id as the real server does. */
  readonly reports: Map<string, ActionReport>
  /** While down, /hosts/actions answers 503 (a control plane that is unreachable). */
  down: boolean
  krl: Buffer
  readonly krlFetches: number
  mint(options: MintOptions): Promise<string>
  close(): Promise<void>
}

export interface MintOptions {
  host: string
  runas?: string
  argv: unknown[]
  action?: string
  resource?: string
  audience?: string
  lifetime?: number
  iatOffset?: number
  jti?: string
  parameters?: Record<string, unknown>
  key?: KeyObject
}

export async function startHostIssuer(): Promise<HostIssuerFixture> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const kid = 'fixture-key-1'
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' }] }
  const stream = await startStreamFixture({ tokens: [API_TOKEN], heartbeatMs: 200 })
  const reports = new Map<string, ActionReport>()
  const state = { down: false, krl: Buffer.concat([Buffer.from('SSHKRL\n\0', 'latin1'), Buffer.alloc(4)]), krlFetches: 0 }

  const server: Server = createServer((request, response) => {
    const authorised = request.headers.authorization === `Bearer ${API_TOKEN}`
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      if (request.url === '/.well-known/jwks.json') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks))
      } else if (request.url === '/hosts/actions' && request.method === 'POST') {
        if (state.down) return void response.writeHead(503).end()
        if (!authorised) return void response.writeHead(401).end()
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { reports: ActionReport[] }
        for (const report of body.reports) if (!reports.has(report.id)) reports.set(report.id, report)
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: body.reports.length }))
      } else if (request.url === '/ssh/krl') {
        if (!authorised) return void response.writeHead(401).end()
        state.krlFetches++
        const etag = `"${state.krl.length}-${state.krl.toString('base64url').slice(-16)}"`
        if (request.headers['if-none-match'] === etag) return void response.writeHead(304).end()
        response.writeHead(200, { 'content-type': 'application/octet-stream', etag }).end(state.krl)
      } else {
        response.writeHead(404).end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    issuer,
    stream,
    reports,
    get down() { return state.down },
    set down(value: boolean) { state.down = value },
    get krl() { return state.krl },
    set krl(value: Buffer) { state.krl = value },
    get krlFetches() { return state.krlFetches },
    async mint(options) {
      const now = Math.floor(Date.now() / 1000) + (options.iatOffset ?? 0)
      const parameters = options.parameters ?? { runas: options.runas ?? 'root', argv: options.argv }
      return new SignJWT({
        iss: issuer,
        sub: 'agent-1',
        client_id: 'agent-1',
        aud: options.audience ?? `urn:writ:host:${options.host}`,
        iat: now,
        exp: now + (options.lifetime ?? 120),
        jti: options.jti ?? randomUUID(),
        authorization_details: [{
          type: 'writ_action', action: options.action ?? 'sudo.exec', resource: options.resource ?? `host:${options.host}`, parameters,
        }],
        task: { id: 'T-1' },
      }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid }).sign(options.key ?? privateKey)
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await stream.close()
    },
  }
}
