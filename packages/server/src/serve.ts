/** Starts the control plane: data directory, both listeners, storage, keys; and stops it cleanly (drain, commit, close). */
import { readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { getConnInfo } from '@hono/node-server/conninfo'
import { buildApp, type App } from './app.js'
import type { Clock } from './clock.js'
import type { Config } from './config/schema.js'
import { lockDataDir } from './data-dir-lock.js'
import { prepareDataDir, writePrivateFile } from './data-dir.js'
import { listen, type Listener, type ListenOptions } from './http/listen.js'
import { readTlsCredentials } from './http/tls-credentials.js'
import type { Logger } from './logger.js'

export const SERVER_FILE = 'server.json'

export interface RunningServer {
  app: App
  publicUrl: string
  adminUrl: string
  close(): Promise<void>
}

/**
 * Either the whole server runs, or nothing is left behind: a failure at any step (a taken port, a locked data
 * directory, storage) closes what was opened and releases the lock before the error propagates.
 */
export async function startServer(config: Config, clock: Clock, logger: Logger): Promise<RunningServer> {
  const tls = readTlsCredentials(config.server.tls)
  const dataDir = resolve(config.dataDir)
  prepareDataDir(dataDir, logger)
  const lock = lockDataDir(dataDir, logger)
  let listeners: Listener[] = []
  let app: App
  let issuer: string
  try {
    listeners = await listenAll([
      { host: config.server.host, port: config.server.port, settings: 'server.host, server.port', tls },
      { host: config.server.adminHost, port: config.server.adminPort, settings: 'server.adminHost, server.adminPort', tls },
    ], config.server)
    issuer = config.issuer ?? config.server.publicUrl ?? (listeners[0] as Listener).url
    app = await buildApp({ config, clock, logger, issuer, remoteAddress: (c) => getConnInfo(c).remote.address })
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close(0)))
    lock.release()
    throw error
  }
  const [publicListener, adminListener] = listeners as [Listener, Listener]
  publicListener.handle(app.publicApp.fetch)
  adminListener.handle(app.adminApp.fetch)

  const serverFile = join(dataDir, SERVER_FILE)
  // How the CLI on this machine finds the server; it holds addresses only, never a credential.
  writePrivateFile(serverFile, JSON.stringify({ public_url: publicListener.url, admin_url: adminListener.url, issuer, pid: process.pid }, null, 2))
  logger.info('writ started', { public_url: publicListener.url, admin_url: adminListener.url, issuer, storage: config.storage.driver, data_dir: dataDir, pid: process.pid })

  let closing: Promise<void> | undefined
  return {
    app, publicUrl: publicListener.url, adminUrl: adminListener.url,
    close() {
      closing ??= (async () => {
        try {
          // Revocation streams never end by themselves: ended first, the drain waits only for real requests (their
          // clients reconnect to another replica, or to this one when it is back, and resume by Last-Event-ID).
          app.revocationStreams.close()
          await Promise.all(listeners.map((listener) => listener.close(config.server.shutdownGraceMs)))
          await app.close()
        } finally {
          removeIfOurs(serverFile)
          lock.release()
        }
        logger.info('writ stopped')
      })()
      return closing
    },
  }
}

/** Binds every listener or none: when one fails, the others are closed before its error is thrown. */
async function listenAll(options: ListenOptions[], server: Config['server']): Promise<Listener[]> {
  const results = await Promise.allSettled(options.map((option) => listen(option, server)))
  const bound = results.flatMap((result) => result.status === 'fulfilled' ? [result.value] : [])
  const failed = results.find((result) => result.status === 'rejected')
  if (failed === undefined) return bound
  await Promise.all(bound.map((listener) => listener.close(0)))
  throw failed.reason
}

/** Never deletes another instance's file (a server started on this directory after ours, by hand or by a test). */
function removeIfOurs(serverFile: string): void {
  try {
    const { pid } = JSON.parse(readFileSync(serverFile, 'utf8')) as { pid?: unknown }
    if (pid === process.pid) rmSync(serverFile, { force: true })
  } catch {
    // Missing or unreadable: nothing of ours to remove.
  }
}
