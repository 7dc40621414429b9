/** Admin HTTP adapter of human approvals: list, show, approve, deny. */
import { Hono } from 'hono'
import { z } from 'zod'
import { WritError } from '@writ/sdk'
import type { AdminEnv } from '../http/admin-auth.js'
import { readJson } from '../http/read-json.js'
import type { ApprovalStatus } from './approval.js'
import { approvalView } from './approval.js'
import { decideApproval, type DecideDeps } from './decide-approval.js'

const STATUSES = ['pending', 'approved', 'denied', 'consumed'] as const
const noteSchema = z.strictObject({ note: z.string().max(1_000).optional() })

export function approvalRoutes(deps: DecideDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>()
  app.get('/approvals', async (c) => {
    const status = c.req.query('status')
    if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
      throw new WritError('REQUEST_INVALID', `status must be one of ${STATUSES.join(', ')}`)
    }
    const agent = c.req.query('agent')
    const approvals = await deps.storage.approvals.list({ limit: 500, ...(status ? { status: status as ApprovalStatus } : {}), ...(agent ? { agentId: agent } : {}) })
    const now = deps.clock.nowMs()
    // `pending` means still decidable: expired holds are shown as expired, never as waiting.
    const views = approvals.map((a) => approvalView(a, now)).filter((v) => status !== 'pending' || v.status === 'pending')
    return c.json({ approvals: views })
  })
  app.get('/approvals/:id', async (c) => {
    const approval = await deps.storage.approvals.find(c.req.param('id'))
    if (!approval) throw new WritError('NOT_FOUND', `approval \`${c.req.param('id').slice(0, 64)}\` does not exist`)
    return c.json(approvalView(approval, deps.clock.nowMs()))
  })
  for (const [path, verdict] of [['approve', 'approved'], ['deny', 'denied']] as const) {
    app.post(`/approvals/:id/${path}`, async (c) => {
      const hasBody = (c.req.header('content-length') ?? '0') !== '0' || c.req.header('content-type') !== undefined
      const body = hasBody ? noteSchema.safeParse(await readJson(c)) : { success: true as const, data: {} as { note?: string } }
      if (!body.success) throw new WritError('REQUEST_INVALID', 'the body may only hold a `note` string')
      const approval = await decideApproval(c.req.param('id'), verdict, c.get('admin'), body.data.note ?? null, deps)
      return c.json(approvalView(approval, deps.clock.nowMs()))
    })
  }
  return app
}
