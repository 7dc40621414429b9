/**
 * The token endpoint over real HTTP, as the built server reads it (straight from Node's stream): the 64 KiB cap holds
 * whether the size is declared or the body arrives chunked, bad input gets the OAuth error format, and nothing is
 * written; a good request still gets its token.
 */
import { request } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ensureServerBuilt, killAllServers, readAdminToken, registerAgent, requestToken, startServerProcess, type AgentKey, type ServerProcess,
} from './server-process.fixture.js'

const FORM = 'application/x-www-form-urlencoded'

/** One POST over a fresh socket; `chunked` sends the body in pieces with no content-length. */
function post(url: string, body: string, options: { contentType?: string; chunked?: boolean } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': options.contentType ?? FORM }
    if (!options.chunked) headers['content-length'] = String(Buffer.byteLength(body))
    const req = request(`${url}/oauth/token`, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
    })
    // The server may answer (and stop reading) before the whole oversized body is sent.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)))
    if (options.chunked) {
      for (let i = 0; i < body.length; i += 8_192) req.write(body.slice(i, i + 8_192))
      req.end()
    } else {
      req.end(body)
    }
  })
}

describe('the token endpoint over HTTP (built server)', () => {
  let dataDir: string
  let server: ServerProcess
  let agent: AgentKey

  beforeAll(async () => {
    await ensureServerBuilt()
    dataDir = mkdtempSync(join(tmpdir(), 'writ-http-'))
    server = await startServerProcess({ dataDir })
    agent = await registerAgent(server.adminUrl, readAdminToken(dataDir), 'http-bot')
  })

  afterAll(async () => {
    await server?.stop()
    killAllServers()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('refuses bodies over 64 KiB, declared or chunked, with 413 invalid_request', async () => {
    const big = `grant_type=client_credentials&x=${'a'.repeat(70_000)}`
    for (const chunked of [false, true]) {
      const answer = await post(server.publicUrl, big, { chunked })
      expect(answer.status, `chunked: ${chunked}`).toBe(413)
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request', writ_code: 'REQUEST_TOO_LARGE' })
    }
  })

  it('answers bad input in the OAuth error format', async () => {
    const cases: Array<[string, string, { contentType?: string; chunked?: boolean }, number, string]> = [
      ['wrong content type', '{}', { contentType: 'application/json' }, 415, 'invalid_request'],
      ['duplicate parameter', 'grant_type=client_credentials&grant_type=client_credentials', {}, 400, 'invalid_request'],
      ['no assertion, chunked', 'grant_type=client_credentials', { chunked: true }, 401, 'invalid_client'],
      ['empty body', '', {}, 400, 'unsupported_grant_type'],
    ]
    for (const [name, body, options, status, error] of cases) {
      const answer = await post(server.publicUrl, body, options)
      expect(answer.status, name).toBe(status)
      expect((JSON.parse(answer.body) as { error: string }).error, name).toBe(error)
    }
  })

  it('still issues to a good request, on the same server, after all of that', async () => {
    const response = await requestToken(server, agent)
    expect(response.status).toBe(200)
    expect(await response.json()).toHaveProperty('access_token')
  })
})
