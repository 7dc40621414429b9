/**
 * The protocol of Writ's worker threads that hold their own SQLite connection (the commit and the maintenance
 * thread): the worker posts 'ready' once its connection is open, and closes it and exits when it receives 'close'.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker, type ResourceLimits } from 'node:worker_threads'

/** The compiled worker file beside `moduleUrl`, or undefined when there is none (tests that run the sources). */
export function compiledWorker(moduleUrl: URL): string | undefined {
  const file = fileURLToPath(moduleUrl)
  return existsSync(file) ? file : undefined
}

/** Starts the worker and resolves once it reports its connection open; rejects if it fails first. */
export async function startSqliteWorker(file: string, workerData: unknown, resourceLimits: ResourceLimits): Promise<Worker> {
  const worker = new Worker(file, { workerData, resourceLimits })
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => { worker.off('message', onReady); reject(error) }
    const onReady = (message: unknown): void => {
      if (message !== 'ready') return
      worker.off('error', onError)
      worker.off('message', onReady)
      resolve()
    }
    worker.on('error', onError)
    worker.on('message', onReady)
  })
  return worker
}

/** Asks the worker to close its connection and waits until it has exited. */
export async function closeSqliteWorker(worker: Worker): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  worker.postMessage('close')
  await exited
}
