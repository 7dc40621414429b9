/** Test support: a minimal reader of a server-sent-events body (id, event, data per message), polled by condition. */
import { performance } from 'node:perf_hooks'

export interface SseMessage {
  id?: string
  event?: string
  data?: string
  retry?: string
}

export interface SseReader {
  messages: SseMessage[]
  /** True once the server ended the stream (or aborted it). */
  readonly ended: boolean
  /** Waits until `predicate` holds for the messages so far; fails after `timeoutMs`. */
  until(predicate: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<SseMessage[]>
  /** The revocation events received, as parsed data with their ids. */
  revocations(): Array<{ id: number } & Record<string, unknown>>
  cancel(): Promise<void>
}

export function readSse(body: ReadableStream<Uint8Array>): SseReader {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const messages: SseMessage[] = []
  let buffer = ''
  let ended = false
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        buffer += decoder.decode(value, { stream: true })
        let cut: number
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut)
          buffer = buffer.slice(cut + 2)
          const message: SseMessage = {}
          for (const line of block.split('\n')) {
            const at = line.indexOf(': ')
            if (at > 0) message[line.slice(0, at) as keyof SseMessage] = line.slice(at + 2)
          }
          messages.push(message)
        }
      }
    } catch {
      // aborted by the server (dropped) or cancelled by the test
    } finally {
      ended = true
    }
  })()
  return {
    messages,
    get ended() { return ended },
    async until(predicate, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs
      while (!predicate(messages)) {
        if (performance.now() > deadline) throw new Error(`condition not met; messages so far: ${JSON.stringify(messages)}`)
        await new Promise((r) => setTimeout(r, 5))
      }
      return messages
    },
    revocations() {
      return messages.filter((m) => m.event === 'revocation').map((m) => ({ id: Number(m.id), ...(JSON.parse(m.data as string) as Record<string, unknown>) }))
    },
    async cancel() { await reader.cancel().catch(() => undefined) },
  }
}
