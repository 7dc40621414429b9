/** Test support: a TCP proxy in front of a server, which a test can make drop every connection or stop forwarding. */
import { createServer, connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

export interface StreamProxy {
  /** `http://127.0.0.1:<port>`: the proxy's own origin. */
  origin: string
  /** Connections accepted so far. */
  readonly accepted: number
  /** Destroys every open connection (both sides), as a crashed load balancer would. */
  dropAll(): void
  /** While stalled, bytes from the server are held back (the connection stays open: a hung proxy). */
  stall(stalled: boolean): void
  close(): Promise<void>
}

export async function startStreamProxy(target: URL): Promise<StreamProxy> {
  const pairs = new Set<[Socket, Socket]>()
  let stalled = false
  let accepted = 0
  const held = new Map<Socket, Buffer[]>()
  const server = createServer((client) => {
    accepted++
    const upstream = connect(Number(target.port), target.hostname)
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    held.set(client, [])
    client.on('data', (chunk) => upstream.write(chunk))
    upstream.on('data', (chunk) => {
      if (stalled) held.get(client)?.push(chunk)
      else client.write(chunk)
    })
    const end = () => {
      pairs.delete(pair)
      held.delete(client)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted
    },
    dropAll() {
      for (const [client, upstream] of pairs) {
        client.destroy()
        upstream.destroy()
      }
    },
    stall(value) {
      stalled = value
      if (!value) {
        for (const [client, chunks] of held) {
          for (const chunk of chunks.splice(0)) client.write(chunk)
        }
      }
    },
    close: () => new Promise<void>((resolve) => {
      for (const [client, upstream] of pairs) {
        client.destroy()
        upstream.destroy()
      }
      server.close(() => resolve())
    }),
  }
}
