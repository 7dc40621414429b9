/** Binds the public and admin APIs to Node HTTP servers with the size and time limits set before any parsing. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { SIZE_LIMITS } from '@writ/sdk'
import type { Config } from '../config/schema.js'

export interface Listener {
  server: Server
  url: string
  /** Sets the handler once the app is built (the issuer may depend on the bound port). */
  handle(fetch: (request: Request, env: unknown) => Response | Promise<Response>): void
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes every socket. */
  close(graceMs: number): Promise<void>
}

export async function listen(host: string, port: number, server: Config['server']): Promise<Listener> {
  let fetch: ((request: Request, env: unknown) => Response | Promise<Response>) | undefined
  const listener = getRequestListener((request, env) => fetch ? fetch(request, env) : new Response('starting', { status: 503 }))
  // DOS-03/06: 16 KiB of headers (Node answers 431 beyond), a deadline for headers and for the whole request.
  const http = createServer({
    maxHeaderSize: SIZE_LIMITS.headerBytes,
    requestTimeout: server.requestTimeoutMs,
    headersTimeout: server.headersTimeoutMs,
    keepAliveTimeout: 5_000,
  }, listener)
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(port, host, () => { http.off('error', reject); resolve() })
  })
  const address = http.address() as AddressInfo
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    server: http,
    url: `http://${hostPart}:${address.port}`,
    handle(next) { fetch = next },
    close(graceMs) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => http.closeAllConnections(), graceMs)
        http.close(() => { clearTimeout(timer); resolve() })
        http.closeIdleConnections()
      })
    },
  }
}
