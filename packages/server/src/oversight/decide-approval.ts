/** An approver allows or denies a held request; only a holder of a role (or the name) the document lists may decide. */
import { WritError } from '@writ/sdk'
import type { AdminIdentity } from '../admins/admin-identity.js'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'
import { effectiveStatus, type Approval } from './approval.js'

export interface DecideDeps {
  storage: Storage
  clock: Clock
  forbidOwnerApproval: boolean
}

export async function decideApproval(
  authReqId: string, verdict: 'approved' | 'denied', admin: AdminIdentity, note: string | null, deps: DecideDeps,
): Promise<Approval> {
  const approval = await deps.storage.approvals.find(authReqId)
  if (!approval) throw new WritError('NOT_FOUND', `approval \`${authReqId.slice(0, 64)}\` does not exist`)
  const now = deps.clock.nowMs()
  const status = effectiveStatus(approval, now)
  if (status !== 'pending') throw new WritError('APPROVAL_ALREADY_DECIDED', `approval \`${authReqId}\` is ${status}`)

  // Roles and names are compared exactly: `approvers` in the identity document is the whole list of who may decide.
  if (!approval.approvers.some((who) => who === admin.name || admin.roles.includes(who))) {
    throw new WritError('APPROVER_NOT_ALLOWED', `deciding needs one of: ${approval.approvers.join(', ')}`, { reasons: ['approver_role_missing'] })
  }
  const agent = await deps.storage.agents.find(approval.agentId)
  if (deps.forbidOwnerApproval && agent && agent.document.owner.toLowerCase() === admin.name.toLowerCase()) {
    throw new WritError('APPROVER_NOT_ALLOWED', "an agent's owner may not approve its requests", { reasons: ['owner_may_not_approve'] })
  }

  return deps.storage.transaction(async (tx) => {
    if (!(await tx.approvals.decide(authReqId, verdict, admin.id, now, note))) {
      throw new WritError('APPROVAL_ALREADY_DECIDED', `approval \`${authReqId}\` was decided or expired meanwhile`)
    }
    await tx.audit.append([{
      type: verdict === 'approved' ? 'approval.grant' : 'approval.deny',
      actor: { kind: 'admin', id: admin.id },
      task: { id: approval.request.task.id, ...(approval.request.task.step ? { step: approval.request.task.step } : {}) },
      action: approval.request.action.action,
      resource: approval.request.action.resource,
      decision: { effect: verdict === 'approved' ? 'allow' : 'deny', reasons: [`human_${verdict}`] },
      data: { auth_req_id: authReqId, agent_id: approval.agentId, binding: approval.binding, admin_name: admin.name, ...(note ? { note } : {}) },
    }], now)
    return { ...approval, status: verdict, decidedBy: admin.id, decidedAt: now, decisionNote: note }
  })
}
