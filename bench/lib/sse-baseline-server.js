/**
 * The bare baseline of bench/revocation: a minimal node:http server that holds SSE connections and, when told,
 * writes one event to all of them. It answers its listening port and, per write, the wall-clock time
 * (performance.timeOrigin + performance.now(), ms) taken just before the first write. Driven over IPC.
 */
import { createServer } from 'node:http'

const streams = new Set()
const server = createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
  response.write('event: open\ndata: {}\n\n')
  streams.add(response)
  response.on('close', () => streams.delete(response))
})
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))

let id = 0
process.on('message', (message) => {
  if (message.cmd !== 'write') return
  id++
  // The same size of frame as a Writ revocation event.
  const frame = `id: ${id}\nevent: revocation\ndata: ${JSON.stringify({ kind: 'token', iss: 'http://127.0.0.1', jti: '6f1c0c1e-4a1b-4d0e-9a57-3c1d2b3a4f5e', revoked_at: Math.floor(Date.now() / 1000), forget_after: Math.floor(Date.now() / 1000) + 300 })}\n\n`
  const written = performance.timeOrigin + performance.now()
  for (const stream of streams) stream.write(frame)
  process.send({ written, connections: streams.size })
})
process.on('disconnect', () => process.exit(0))
