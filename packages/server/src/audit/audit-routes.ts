/** Admin HTTP adapter of the audit log: read records, verify the chain. */
import { Hono } from 'hono'
import { WritError } from '@writ/sdk'
import type { AdminEnv } from '../http/admin-auth.js'
import type { Storage } from '../storage/storage.js'
import { verifyChain } from './verify-chain.js'

export function auditRoutes(storage: Storage): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()
  app.get('/audit', async (c) => {
    const after = integer(c.req.query('after'), 0, 'after')
    const limit = Math.min(integer(c.req.query('limit'), 100, 'limit'), 1_000)
    const tail = c.req.query('tail')
    const records = tail === undefined
      ? await storage.audit.records({ afterSeq: after, limit, type: c.req.query('type'), taskId: c.req.query('task') })
      : await storage.audit.tail(Math.min(integer(tail, 20, 'tail'), 1_000))
    return c.json({ records })
  })
  app.get('/audit/verify', async (c) => c.json(await verifyChain(storage.audit)))
  return app
}

function integer(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!/^\d{1,15}$/.test(value)) throw new WritError('REQUEST_INVALID', `\`${name}\` must be a non-negative integer`)
  return Number(value)
}
