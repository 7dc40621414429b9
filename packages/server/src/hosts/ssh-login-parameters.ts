/**
 * The parameters of an `ssh.login` token, decided by policy: the union of the principals the determining permits grant
 * (their `@ssh_*` annotations), narrowed by the request's optional `principals`. Force-command and source-address must
 * agree across those permits, or nothing is issued. The result replaces the request's parameters in the token.
 */
import type { WritAction } from '@writ/sdk'
import type { Decision } from '../policy/policy-engine.js'
import { sshGrantOf, type SshGrant } from './ssh-annotations.js'

export type PolicyAnnotations = (policyId: string) => Readonly<Record<string, string>> | undefined

export interface SshLoginParameters {
  principals: string[]
  force_command?: string
  source_address?: string
  extensions: string[]
}

export function sshLoginParameters(action: WritAction, decision: Decision, annotations: PolicyAnnotations | undefined): SshLoginParameters | { reason: string } {
  const grants: SshGrant[] = []
  for (const id of decision.policies) {
    const grant = sshGrantOf(annotations?.(id), 'permit')
    // A set that loaded was validated; a policy that vanished in a swap (or a malformed one) grants nothing.
    if (grant !== undefined && !('problem' in grant)) grants.push(grant)
  }
  if (grants.length === 0) return { reason: 'ssh_principals_none' }
  const forceCommands = new Set(grants.map((g) => g.forceCommand ?? ''))
  if (forceCommands.size > 1) return { reason: 'ssh_force_command_conflict' }
  const sourceAddresses = new Set(grants.map((g) => g.sourceAddress ?? ''))
  if (sourceAddresses.size > 1) return { reason: 'ssh_source_address_conflict' }
  const granted = new Set(grants.flatMap((g) => g.principals))
  const requested = action.parameters?.principals as string[] | undefined
  // The request may narrow what policy grants, never widen it: one principal not granted refuses the whole request.
  if (requested !== undefined && requested.some((p) => !granted.has(p))) return { reason: 'ssh_principal_not_granted' }
  const principals = [...new Set(requested ?? granted)].sort()
  const [forceCommand] = forceCommands
  const [sourceAddress] = sourceAddresses
  return {
    principals,
    ...(forceCommand ? { force_command: forceCommand } : {}),
    ...(sourceAddress ? { source_address: sourceAddress } : {}),
    extensions: [...new Set(grants.flatMap((g) => g.extensions))].sort(),
  }
}
