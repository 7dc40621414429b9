/**
 * The server's own policy code, for the commands that work without a server (`policy validate`, `schema`, `test`):
 * loaded on first use, because cedar-wasm takes a moment to start and most commands never need it.
 */
import { WritError } from '@writ/sdk'
import type {
  Agent, AgentDocument, AuthorizationRequest, Decision,
  PolicyProblem as ServerPolicyProblem, PolicySummary as ServerPolicySummary, PolicyValidation as ServerPolicyValidation,
} from '@writ/server'

/** One finding of validation, as the server reports it; `policy_id` and `location` are accepted too. */
export type PolicyProblem = ServerPolicyProblem & { policy_id?: string; location?: string }
export type PolicySummary = ServerPolicySummary
export type PolicyValidation = Omit<ServerPolicyValidation, 'errors' | 'warnings'> & { errors: PolicyProblem[]; warnings: PolicyProblem[] }
export type PolicyDecision = Decision
export type PolicyRequest = AuthorizationRequest

export interface PolicyEngineInstance {
  decide(request: PolicyRequest): PolicyDecision
  dispose(): void
}

export interface PolicyTools {
  validatePolicyFiles(files: Readonly<Record<string, string>>, declaredActions: readonly string[]): PolicyValidation
  cedarSchemaText(actions: readonly string[]): string
  CedarPolicyEngine: {
    create(options: { files: Readonly<Record<string, string>>; declaredActions: readonly string[]; timeZone: string }): PolicyEngineInstance
  }
  agentDocumentSchema: {
    safeParse(value: unknown): { success: true; data: AgentDocument } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } }
  }
}

const NEEDED = ['validatePolicyFiles', 'cedarSchemaText', 'CedarPolicyEngine', 'agentDocumentSchema'] as const

let loaded: Promise<PolicyTools> | undefined

export function loadPolicyTools(): Promise<PolicyTools> {
  loaded ??= import('@writ/server').then((server) => {
    // Checked at run time so that a build of @writ/server without the policy exports fails with a clear message.
    const exported = server as unknown as Record<string, unknown>
    const missing = NEEDED.filter((name) => exported[name] === undefined)
    if (missing.length > 0) {
      throw new WritError('INTERNAL', `this build of @writ/server does not export ${missing.join(', ')}; offline policy commands need them`)
    }
    return exported as unknown as PolicyTools
  })
  return loaded
}
