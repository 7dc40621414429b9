/** Binds the public and admin APIs to Node HTTP(S) servers with the size and time limits set before any parsing. */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { SIZE_LIMITS, WritError } from '@writ/sdk'
import type { Config } from '../config/schema.js'
import type { TlsCredentials } from './tls-credentials.js'

export interface Listener {
  server: Server
  url: string
  /** Sets the handler once the app is built (the issuer may depend on the bound port). */
  handle(fetch: (request: Request, env: unknown) => Response | Promise<Response>): void
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes every socket. */
  close(graceMs: number): Promise<void>
}

export interface ListenOptions {
  host: string
  port: number
  /** The settings that chose the address, named when binding fails (`server.adminHost`, `server.adminPort`). */
  settings: string
  tls?: TlsCredentials
}

// While draining, connections that finish their last request are closed this often: Node's close() closes only the
// connections idle at that instant, and a keep-alive connection that goes idle later would hold the process open.
const DRAIN_POLL_MS = 50

export async function listen(options: ListenOptions, server: Config['server']): Promise<Listener> {
  let fetch: ((request: Request, env: unknown) => Response | Promise<Response>) | undefined
  const listener = getRequestListener((request, env) => fetch ? fetch(request, env) : new Response('starting', { status: 503 }))
  // DOS-03/06: 16 KiB of headers (Node answers 431 beyond), a deadline for headers and for the whole request.
  const settings = {
    maxHeaderSize: SIZE_LIMITS.headerBytes,
    requestTimeout: server.requestTimeoutMs,
    headersTimeout: server.headersTimeoutMs,
    keepAliveTimeout: 5_000,
  }
  const http: Server = options.tls
    ? createHttpsServer({ ...settings, cert: options.tls.cert, key: options.tls.key }, listener) as unknown as Server
    : createHttpServer(settings, listener)
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(options.port, options.host, () => { http.off('error', reject); resolve() })
  }).catch((error: unknown) => { throw listenError(error, options) })
  const address = http.address() as AddressInfo
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    server: http,
    url: `${options.tls ? 'https' : 'http'}://${hostPart}:${address.port}`,
    handle(next) { fetch = next },
    close(graceMs) {
      return new Promise((resolve) => {
        // A request that arrives on a kept-alive connection while draining is answered, and its connection closed.
        const closeAfter = (_request: IncomingMessage, response: ServerResponse) => { response.setHeader('connection', 'close') }
        http.prependListener('request', closeAfter)
        const drain = setInterval(() => http.closeIdleConnections(), DRAIN_POLL_MS)
        // Stuck connections (a body that never ends, a client that never reads) are destroyed after the grace.
        const deadline = setTimeout(() => http.closeAllConnections(), graceMs)
        http.close(() => {
          clearInterval(drain)
          clearTimeout(deadline)
          http.off('request', closeAfter)
          resolve()
        })
        http.closeIdleConnections()
      })
    },
  }
}

function listenError(error: unknown, options: ListenOptions): unknown {
  const code = (error as NodeJS.ErrnoException).code
  const why = code === 'EADDRINUSE' ? 'the address is already in use (is another writ server running?)'
    : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
    : code === 'EADDRNOTAVAIL' ? 'the address is not one of this machine'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the host name does not resolve'
    : undefined
  if (why === undefined) return error
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  return new WritError('LISTEN_FAILED', `cannot listen on \`${host}:${options.port}\` (${options.settings}): ${why}`, { cause: error })
}
