/**
 * The server's own policy code, for the commands that work without a server (`policy validate`, `schema`, `test`):
 * loaded on first use, because cedar-wasm takes a moment to start and most commands never need it.
 */
import { WritError } from '@writ/sdk'
import type { Agent, AgentDocument } from '@writ/server'

/** One finding of validation, as the server reports it (PolicyProblem); `policy_id` and `location` are accepted too. */
export interface PolicyProblem {
  policy?: string
  policy_id?: string
  file?: string
  line?: number
  column?: number
  location?: string
  message: string
}

export interface PolicySummary {
  id: string
  file: string
  effect: 'permit' | 'forbid'
  actions: string[] | 'all'
  hold: boolean
}

export interface PolicyValidation {
  ok: boolean
  errors: PolicyProblem[]
  warnings: PolicyProblem[]
  policies: PolicySummary[]
}

export interface PolicyDecision {
  effect: 'allow' | 'deny' | 'hold'
  reasons: string[]
  policies: string[]
}

export interface PolicyRequest {
  agent: Agent
  action: string
  resource: string
  parameters?: Record<string, unknown>
  accessType?: 'read' | 'write' | 'delete'
  task: { id: string; step?: string; purpose?: string }
  timeMs: number
  sourceIp?: string
  host?: string
}

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
