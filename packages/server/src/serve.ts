/** Starts the control plane: storage, keys, both APIs; and stops it cleanly (drain, commit, close). */
import { rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { getConnInfo } from '@hono/node-server/conninfo'
import { buildApp, type App } from './app.js'
import type { Clock } from './clock.js'
import type { Config } from './config/schema.js'
import { listen } from './http/listen.js'
import type { Logger } from './logger.js'

export const SERVER_FILE = 'server.json'

export interface RunningServer {
  app: App
  publicUrl: string
  adminUrl: string
  close(): Promise<void>
}

export async function startServer(config: Config, clock: Clock, logger: Logger): Promise<RunningServer> {
  const publicListener = await listen(config.server.host, config.server.port, config.server)
  const adminListener = await listen(config.server.adminHost, config.server.adminPort, config.server)
  const issuer = config.issuer ?? config.server.publicUrl ?? publicListener.url
  let app: App
  try {
    app = await buildApp({ config, clock, logger, issuer, remoteAddress: (c) => getConnInfo(c).remote.address })
  } catch (error) {
    await Promise.all([publicListener.close(0), adminListener.close(0)])
    throw error
  }
  publicListener.handle(app.publicApp.fetch)
  adminListener.handle(app.adminApp.fetch)

  const dataDir = resolve(config.dataDir)
  const serverFile = join(dataDir, SERVER_FILE)
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // How the CLI on this machine finds the server; it holds addresses only, never a credential.
  writeFileSync(serverFile, JSON.stringify({ public_url: publicListener.url, admin_url: adminListener.url, issuer, pid: process.pid }, null, 2))
  logger.info('writ started', { public_url: publicListener.url, admin_url: adminListener.url, issuer, storage: config.storage.driver })

  let closing: Promise<void> | undefined
  return {
    app, publicUrl: publicListener.url, adminUrl: adminListener.url,
    close() {
      closing ??= (async () => {
        await Promise.all([publicListener.close(config.server.shutdownGraceMs), adminListener.close(config.server.shutdownGraceMs)])
        await app.close()
        rmSync(serverFile, { force: true })
        logger.info('writ stopped')
      })()
      return closing
    },
  }
}
