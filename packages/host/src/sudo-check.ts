/**
 * The decision for one sudo run: verify the capability token, match it against what sudo is about to run, then spend
 * its jti and spool the "started" report in one durable transaction. Anything unexpected refuses (fail closed).
 *
 * argv semantics (docs/hosts.md): sudo resolves the command through `secure_path` and runs argv as typed. The
 * token's argv[0] must equal the argv[0] sudo runs as typed (`systemctl`), or, when it contains a `/`, the resolved
 * command path exactly (`/usr/bin/systemctl`); argv[1..] must be equal element by element, same count.
 */
import { randomUUID } from 'node:crypto'
import { WritError, type CapabilityClaims, type CapabilityVerifier, type JwsHeader } from '@writ/sdk'
import type { ActionReport, HostState } from './host-state.js'
import type { CheckRequest } from './sudo-wire.js'

export const SUDO_ACTION = 'sudo.exec'

export type SudoDecision =
  | { allow: true; reportId: string; jti: string; claims: CapabilityClaims; header: Readonly<JwsHeader> }
  | { allow: false; message: string; reason: string; jti?: string }

export interface SudoCheckDeps {
  verifier: CapabilityVerifier
  state: HostState
  hostName: string
  nowMs: () => number
  newId?: () => string
}

export async function decideSudo(request: CheckRequest, deps: SudoCheckDeps): Promise<SudoDecision> {
  let verified
  try {
    verified = await deps.verifier.verify(request.token, { action: SUDO_ACTION, resource: `host:${deps.hostName}` })
  } catch (error) {
    // Nothing of an unverified token is trusted, not even its jti: this refusal stays in the local log only.
    return { allow: false, ...refusalFor(error) }
  }
  const { claims } = verified
  const jti = claims.jti
  const parameters = verified.action.parameters ?? {}
  const newId = deps.newId ?? randomUUID
  const report = (outcome: 'ran' | 'refused', reason?: string): ActionReport => ({
    id: newId(), jti, runas: request.runas, argv: request.argv, command: request.command, user: request.user,
    exit_status: null, signal: null, started_at: deps.nowMs(), ended_at: outcome === 'refused' ? deps.nowMs() : null, outcome,
    ...(reason !== undefined ? { reason } : {}),
  })
  const refuse = (message: string, reason: string): SudoDecision => {
    try {
      deps.state.spool(report('refused', reason))
    } catch {
      // The refusal stands either way; only its report is lost, and the local log still has it.
    }
    return { allow: false, message, reason, jti }
  }

  const runas = parameters.runas
  const argv = parameters.argv
  if (typeof runas !== 'string' || !Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    return refuse('the token does not name a run-as user and an argv', 'parameters_invalid')
  }
  if (runas !== request.runas) return refuse(`the token is for run-as user ${printable(runas)}, not ${printable(request.runas)}`, 'runas_mismatch')
  if (!argvMatches(argv as string[], request.argv, request.command)) {
    return refuse('the command does not match the token\'s argv exactly', 'argv_mismatch')
  }

  const started = report('ran')
  let spent: boolean
  try {
    spent = deps.state.spendAndStart(jti, claims.exp, started)
  } catch {
    // SUDO-04: a run that cannot be recorded does not happen.
    return { allow: false, message: 'the host agent cannot record the run', reason: 'state_write_failed', jti }
  }
  if (!spent) return refuse('the token was already used', 'token_spent')
  return { allow: true, reportId: started.id, jti, claims, header: verified.header }
}

/** The token's argv against the one sudo runs: vectors, element by element, never joined. */
export function argvMatches(tokenArgv: readonly string[], runArgv: readonly string[], command: string): boolean {
  if (tokenArgv.length !== runArgv.length || tokenArgv.length === 0) return false
  const first = tokenArgv[0]!
  const firstMatches = first === runArgv[0] || (first.includes('/') && first === command)
  if (!firstMatches) return false
  for (let i = 1; i < tokenArgv.length; i++) if (tokenArgv[i] !== runArgv[i]) return false
  return true
}

function refusalFor(error: unknown): { message: string; reason: string } {
  if (!(error instanceof WritError)) return { message: 'the host agent could not verify the token', reason: 'internal' }
  const reason = error.reasons[0] ?? error.code.toLowerCase()
  switch (error.code) {
    case 'TOKEN_EXPIRED': return { message: 'the token has expired', reason }
    case 'TOKEN_REVOKED': return { message: 'the token has been revoked', reason }
    case 'REVOCATION_STALE': return { message: 'the revocation list is not current; try again shortly', reason }
    case 'TOKEN_SCOPE_MISMATCH': return { message: `the token does not grant ${SUDO_ACTION} on this host (${reason})`, reason }
    case 'TOKEN_INVALID':
      if (reason === 'aud_mismatch') return { message: 'the token is for another host', reason }
      if (reason === 'lifetime_too_long') return { message: 'the token lives longer than 300 s', reason }
      return { message: `the token is invalid (${reason})`, reason }
    default: return { message: `the token was refused (${error.code})`, reason }
  }
}

function printable(value: string): string {
  return JSON.stringify(value.slice(0, 64))
}
