/** A BatchWriter that commits on a worker thread holding its own connection to the SQLite file (issuance-worker.ts). */
import type { Worker } from 'node:worker_threads'
import { closeSqliteWorker, compiledWorker, startSqliteWorker } from '../storage/sqlite-thread.js'
import type { BatchWriter, IssuanceOutcome } from './issuance-log.js'

/** `entries` is JSON: for these plain records V8's JSON is several times cheaper than the structured clone. */
export interface BatchRequest { id: number; entries: string; nowMs: number }
export type BatchReply = { id: number; outcomes: IssuanceOutcome[] } | { id: number; error: string }

interface Waiting { resolve: (outcomes: IssuanceOutcome[]) => void; reject: (error: Error) => void }

const WORKER = compiledWorker(new URL('./issuance-worker.js', import.meta.url))
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 48 }

export class IssuanceThread {
  /** Whether the compiled worker exists beside this module (it does in a build; not when tests run the sources). */
  static available(): boolean {
    return WORKER !== undefined
  }

  /** Starts the thread and waits until its connection is open; rejects if it cannot open the file. */
  static async start(sqlitePath: string): Promise<IssuanceThread> {
    const thread = new IssuanceThread(sqlitePath)
    await thread.spawn()
    return thread
  }

  private worker: Worker | undefined
  private readonly waiting = new Map<number, Waiting>()
  private nextId = 0
  private closed = false

  private constructor(private readonly sqlitePath: string) {}

  readonly write: BatchWriter = async (entries, nowMs) => {
    if (this.closed) throw new Error('the commit thread is closed')
    // A thread that died is replaced for the next batch; the batches it held were refused (fail closed).
    const worker = this.worker ?? await this.spawn()
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      worker.postMessage({ id, entries: JSON.stringify(entries), nowMs } satisfies BatchRequest)
    })
  }

  /** Closes the thread's connection once the batches sent so far are answered (the IssuanceLog was flushed first). */
  async close(): Promise<void> {
    this.closed = true
    if (this.worker !== undefined) await closeSqliteWorker(this.worker)
  }

  private async spawn(): Promise<Worker> {
    // The thread only turns batches into rows: a small heap keeps the server's resident memory down (a thread that
    // outgrew it dies like any other and is replaced).
    if (WORKER === undefined) throw new TypeError('the compiled issuance worker is missing; check available() first')
    const worker = await startSqliteWorker(WORKER, { sqlitePath: this.sqlitePath }, THREAD_LIMITS)
    worker.on('message', (reply: BatchReply) => {
      const waiting = this.waiting.get(reply.id)
      if (waiting === undefined) return
      this.waiting.delete(reply.id)
      if ('error' in reply) waiting.reject(new Error(reply.error))
      else waiting.resolve(reply.outcomes)
    })
    // Fail closed: a thread that died takes every batch in flight with it; none of them is answered with a token.
    const fail = (error: Error): void => {
      if (this.worker === worker) this.worker = undefined
      for (const waiting of this.waiting.values()) waiting.reject(error)
      this.waiting.clear()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`the commit thread exited (code ${code})`)))
    this.worker = worker
    return worker
  }
}
