/** Test helpers for the policy engine: the shared sample identity documents as agents, and request builders. */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { agentDocumentSchema, type Agent, type AgentDocument } from '../agents/agent-document.js'
import { CedarPolicyEngine } from './cedar-policy-engine.js'
import type { AuthorizationRequest } from './policy-engine.js'

export const EXAMPLE_AGENTS_DIR = new URL('../../../../examples/agents/', import.meta.url)
export const EXAMPLE_POLICIES_DIR = new URL('../../../../examples/policies/', import.meta.url)

/** Saturday 2025-06-14 10:30 UTC (12:30 in Europe/Paris). */
export const SATURDAY_MORNING_UTC = Date.UTC(2025, 5, 14, 10, 30)
/** Tuesday 2025-06-10 10:30 UTC. */
export const TUESDAY_MORNING_UTC = Date.UTC(2025, 5, 10, 10, 30)

export function sampleAgent(name: 'deploy-bot' | 'sre-responder' | 'support-assistant', overrides: Partial<Agent> = {}): Agent {
  const document = agentDocumentSchema.parse(parse(readFileSync(new URL(`${name}.yaml`, EXAMPLE_AGENTS_DIR), 'utf8')))
  return agentFrom(document, overrides)
}

export function agentFrom(document: AgentDocument, overrides: Partial<Agent> = {}): Agent {
  return {
    id: `agt_${document.name}`, name: document.name, status: 'active', version: 1, document,
    created_at: '2025-01-01T00:00:00.000Z', updated_at: '2025-01-01T00:00:00.000Z', ...overrides,
  }
}

export function documentWith(overrides: Partial<AgentDocument>): AgentDocument {
  return agentDocumentSchema.parse({
    name: 'test-agent', owner: 'owner@example.com', team: 'qa', platform: 'custom',
    capabilities: [], data_access: [], ...overrides,
  })
}

export function requestFor(agent: Agent, action: string, resource: string, extra: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  return { agent, action, resource, task: { id: 'task-1' }, timeMs: TUESDAY_MORNING_UTC, ...extra }
}

export function engineWith(
  files: Record<string, string>, options: { declaredActions?: string[]; timeZone?: string; narrow?: boolean; fastPath?: boolean } = {},
): CedarPolicyEngine {
  return CedarPolicyEngine.create({
    files, declaredActions: options.declaredActions ?? [], timeZone: options.timeZone ?? 'UTC', narrow: options.narrow ?? true, fastPath: options.fastPath ?? true,
  })
}
