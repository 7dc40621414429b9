import { Agent, request } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../clock.js'
import { loadConfig } from '../config/load.js'
import { createLogger } from '../logger.js'
import { startServer, type RunningServer } from '../serve.js'

/** One POST to the token endpoint from a chosen loopback source address (all of 127.0.0.0/8 is local on Linux). */
function postFrom(localAddress: string, url: string, body: string, headers: Record<string, string> = {}, agent: Agent | false = false): Promise<{ status: number; retryAfter: string | undefined; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/oauth/token`, {
      method: 'POST', localAddress, agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)), ...headers },
    }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => {
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: text, reused: req.reusedSocket })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe.skipIf(process.platform !== 'linux')('token endpoint rate limits over TCP', () => {
  let server: RunningServer
  let dataDir: string
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'writ-rate-limits-http-'))
    // 0.01/s: no refill can happen while the test runs, so nothing here depends on timing.
    const config = loadConfig({ flags: { dataDir, server: { port: 0, adminPort: 0 }, log: { level: 'silent' }, rateLimits: { perAddress: { ratePerSecond: 0.01, burst: 2 } } } })
    server = await startServer(config, systemClock, createLogger('silent', systemClock))
  })
  afterAll(async () => {
    await server?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('keys the address bucket on the TCP peer', async () => {
    for (let i = 0; i < 2; i++) expect((await postFrom('127.0.0.2', server.publicUrl, 'grant_type=client_credentials')).status).toBe(401)
    const refused = await postFrom('127.0.0.2', server.publicUrl, 'grant_type=client_credentials')
    expect(refused.status).toBe(429)
    expect(refused.retryAfter).toBe('100')
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'slow_down', writ_code: 'RATE_LIMITED' })
    // untrusted: a forwarding header naming another client changes nothing; only the TCP peer counts.
    expect((await postFrom('127.0.0.2', server.publicUrl, 'grant_type=client_credentials', { 'x-forwarded-for': '127.0.0.9', forwarded: 'for=127.0.0.9' })).status).toBe(429)
    expect((await postFrom('127.0.0.3', server.publicUrl, 'grant_type=client_credentials')).status).toBe(401)
  })

  it('keeps a keep-alive connection usable after refusing a request whose body it never read', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const body = `grant_type=client_credentials&pad=${'a'.repeat(60_000)}`
      for (let i = 0; i < 2; i++) expect((await postFrom('127.0.0.4', server.publicUrl, body, {}, agent)).status).toBe(401)
      for (let i = 0; i < 3; i++) expect(await postFrom('127.0.0.4', server.publicUrl, body, {}, agent)).toMatchObject({ status: 429, reused: true })
    } finally {
      agent.destroy()
    }
  })
})
