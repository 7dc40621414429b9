/**
 * The host agent's Unix socket: root-only (directory 0700, socket 0600, both owned by the daemon's user), one request
 * and one reply per connection, bounded in size and time; a run's session connection alone stays open after its reply.
 * A peer that sends garbage gets the connection closed, which the plugin reads as a refusal.
 */
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { dirname } from 'node:path'
import { MAX_REQUEST_BYTES } from './sudo-wire.js'

const IO_TIMEOUT_MS = 5_000

/** A reply after which the connection stays open: `hold` receives it (the run's session, SUDO-05). */
export interface HeldReply {
  reply: Buffer
  hold: (socket: Socket) => void
}

export interface SocketHandler {
  (payload: Buffer): Promise<Buffer | HeldReply>
}

export async function listenOnAgentSocket(path: string, handle: SocketHandler, onError: (error: Error) => void): Promise<Server> {
  prepareDirectory(dirname(path))
  try {
    if (lstatSync(path).isSocket()) rmSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  // allowHalfOpen: a peer that shuts down its sending side after the request still gets the answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => serve(socket, handle, onError))
  // Created 0600 from the first moment (umask), then chmod for certainty: no window where others may connect.
  const previous = process.umask(0o177)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } finally {
    process.umask(previous)
  }
  chmodSync(path, 0o600)
  return server
}

function prepareDirectory(directory: string): void {
  mkdirSync(directory, { recursive: true, mode: 0o700 })
  const stat = lstatSync(directory)
  if (!stat.isDirectory()) throw new Error(`${directory} is not a directory`)
  const uid = process.getuid?.()
  if (uid !== undefined && stat.uid !== uid) throw new Error(`${directory} is not owned by the host agent's user`)
  chmodSync(directory, 0o700)
}

function serve(socket: Socket, handle: SocketHandler, onError: (error: Error) => void): void {
  let buffered = Buffer.alloc(0)
  let expected: number | undefined
  let done = false
  socket.setTimeout(IO_TIMEOUT_MS, () => socket.destroy())
  socket.on('error', () => socket.destroy())
  // The peer finished sending before a whole frame arrived: nothing more can come.
  socket.on('end', () => { if (!done) socket.destroy() })
  socket.on('data', (chunk: Buffer) => {
    if (done) return
    buffered = Buffer.concat([buffered, chunk])
    if (expected === undefined && buffered.length >= 4) {
      expected = buffered.readUInt32BE(0)
      if (expected < 1 || expected > MAX_REQUEST_BYTES) {
        done = true
        socket.destroy()
        return
      }
    }
    if (expected !== undefined && buffered.length >= 4 + expected) {
      done = true
      if (buffered.length !== 4 + expected) {
        socket.destroy()
        return
      }
      const payload = buffered.subarray(4)
      handle(payload).then(
        (reply) => {
          if (Buffer.isBuffer(reply)) return socket.end(reply)
          // A session lasts as long as the command: no idle timeout, and the peer has nothing more to send.
          socket.setTimeout(0)
          socket.write(reply.reply)
          reply.hold(socket)
        },
        (error: unknown) => {
          onError(error as Error)
          socket.destroy()
        },
      )
    }
  })
}
