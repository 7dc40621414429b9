/** Reads an application/x-www-form-urlencoded body, capped before it is buffered, into single-valued fields. */
import type { IncomingMessage } from 'node:http'
import type { Context } from 'hono'
import { WritError } from '@writ/sdk'

export async function readForm(c: Context, maxBytes: number): Promise<Map<string, string>> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') {
    throw new WritError('CONTENT_TYPE_UNSUPPORTED', 'the body must be application/x-www-form-urlencoded')
  }
  const body = await readBody(c, maxBytes)
  const params = new URLSearchParams(body)
  const fields = new Map<string, string>()
  for (const [name, value] of params) {
    // RFC 6749 §3.2: parameters must not appear more than once.
    if (fields.has(name)) throw new WritError('REQUEST_INVALID', `parameter \`${name.slice(0, 64)}\` appears more than once`)
    fields.set(name, value)
  }
  return fields
}

/** The body as text, refused past `maxBytes` before it is buffered (also the SSH endpoints' JSON, http/read-json.ts). */
export async function readBody(c: Context, maxBytes: number): Promise<string> {
  const declared = Number(c.req.header('content-length') ?? 0)
  if (declared > maxBytes) throw tooLarge(maxBytes)
  // Served by Node, the body is read straight from the socket's stream: the token endpoint is the hot path, and
  // asking Hono for the web Request would build an undici Request, an AbortSignal and a ReadableStream per call.
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  return incoming === undefined ? readWeb(c.req.raw, maxBytes) : readNode(incoming, maxBytes)
}

function readNode(incoming: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      // DOS-03: stop buffering at the cap; the rest of the body is never held in memory.
      if (size > maxBytes) {
        cleanup()
        incoming.resume()
        reject(tooLarge(maxBytes))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      cleanup()
      resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'))
    }
    const onError = (error: Error): void => {
      cleanup()
      reject(new WritError('REQUEST_INVALID', 'the request body could not be read', { cause: error }))
    }
    const cleanup = (): void => {
      incoming.off('data', onData)
      incoming.off('end', onEnd)
      incoming.off('error', onError)
      incoming.off('aborted', onAborted)
    }
    const onAborted = (): void => onError(new Error('aborted'))
    incoming.on('data', onData)
    incoming.on('end', onEnd)
    incoming.on('error', onError)
    incoming.on('aborted', onAborted)
  })
}

async function readWeb(request: Request, maxBytes: number): Promise<string> {
  if (request.body === null) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      throw tooLarge(maxBytes)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function tooLarge(maxBytes: number): WritError {
  return new WritError('REQUEST_TOO_LARGE', `the body exceeds ${maxBytes} bytes`)
}
