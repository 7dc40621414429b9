/** Notifies approvers that a request is held: a signed JSON POST, retried with backoff, never blocking the agent. */
import { createHmac } from 'node:crypto'
import type { Agent } from '../agents/agent-document.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import { approvalView, type Approval } from './approval.js'

export interface WebhookSettings {
  url: string
  secret: string
  /** Delays before each retry; the default is 1 s, 4 s, 16 s. */
  retryDelaysMs?: readonly number[]
}

export const SIGNATURE_HEADER = 'writ-signature'

/**
 * `Writ-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the timestamp is signed with the body,
 * so a receiver can refuse stale or replayed deliveries.
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`
}

export function approvalWebhook(settings: WebhookSettings, clock: Clock, logger: Logger): (approval: Approval, agent: Agent) => void {
  const delays = settings.retryDelaysMs ?? [1_000, 4_000, 16_000]
  return (approval, agent) => {
    const body = JSON.stringify({
      type: 'approval.requested',
      approval: approvalView(approval, clock.nowMs()),
      agent: { id: agent.id, name: agent.name, owner: agent.document.owner, team: agent.document.team },
    })
    const attempt = async (index: number): Promise<void> => {
      try {
        const response = await fetch(settings.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(settings.secret, body, clock.nowSeconds()) },
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(5_000),
        })
        if (response.ok) return
        throw new Error(`status ${response.status}`)
      } catch (error) {
        const delay = delays[index]
        if (delay === undefined) {
          logger.warn('approval webhook failed', { auth_req_id: approval.authReqId, attempts: index + 1, error: String((error as Error).message) })
          return
        }
        setTimeout(() => void attempt(index + 1), delay).unref()
      }
    }
    void attempt(0)
  }
}
