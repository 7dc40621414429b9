/**
 * A second baseline for bench/revocation (--hono-baseline): the bare baseline's protocol, but served the way Writ's
 * stream is, as a web ReadableStream per connection through Hono and @hono/node-server, with one encoded chunk
 * enqueued on every stream. The difference from the bare baseline is what that serving path costs.
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const encoder = new TextEncoder()
const controllers = new Set()
const app = new Hono()
app.get('/events', () => {
  let controller
  return new Response(new ReadableStream({
    start(c) {
      controller = c
      controllers.add(c)
      c.enqueue(encoder.encode('event: open\ndata: {}\n\n'))
    },
    cancel() {
      controllers.delete(controller)
    },
  }), { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' } })
})
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => process.send({ port: info.port }))

let id = 0
process.on('message', (message) => {
  if (message.cmd !== 'write') return
  id++
  const now = Math.floor(Date.now() / 1000)
  const chunk = encoder.encode(`id: ${id}\nevent: revocation\ndata: ${JSON.stringify({ kind: 'token', iss: 'http://127.0.0.1', jti: '6f1c0c1e-4a1b-4d0e-9a57-3c1d2b3a4f5e', revoked_at: now, forget_after: now + 300 })}\n\n`)
  const written = performance.timeOrigin + performance.now()
  for (const controller of controllers) controller.enqueue(chunk)
  process.send({ written, connections: controllers.size })
})
process.on('disconnect', () => process.exit(0))
