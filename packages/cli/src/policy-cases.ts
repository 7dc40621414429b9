/**
 * `writ policy test <cases.yaml>`: request → expected decision cases, run offline with the server's own engine, for the
 * CI of a policy repository. Format (YAML or JSON):
 *
 *   timeZone: Europe/Paris            # optional, default UTC (as the server's policy.timeZone)
 *   policies: ../policies             # optional: the set, when --set is not given (relative to this file)
 *   agents:
 *     deploy-bot: agents/deploy-bot.yaml   # an identity document: a path relative to this file, or inline
 *   cases:
 *     - name: no production deploy on Saturday
 *       agent: deploy-bot
 *       action: deploy.run
 *       resource: service:prod-billing
 *       time: 2025-06-14T10:30:00Z    # optional, default now
 *       purpose: ship JIRA-12         # optional; also step, task, source_ip, host, access, parameters
 *       expect: deny                  # allow | deny | hold
 */
import { createHash } from 'node:crypto'
import { dirname, resolve } from 'node:path'
import { WritError } from '@writ/sdk'
import type { Agent, AgentDocument } from '@writ/server'
import { parse as parseYaml } from 'yaml'
import { readIdentityDocument } from './identity-document-file.js'
import { readTextFile } from './read-text-file.js'
import type { PolicyDecision, PolicyRequest, PolicyTools } from './policy-tools.js'

const EFFECTS = ['allow', 'deny', 'hold'] as const
const ACCESS_TYPES = ['read', 'write', 'delete'] as const
const TOP_KEYS = new Set(['timeZone', 'policies', 'agents', 'cases'])
const CASE_KEYS = new Set(['name', 'agent', 'action', 'resource', 'time', 'purpose', 'step', 'task', 'source_ip', 'host', 'access', 'parameters', 'expect'])

export interface PolicyCase {
  name: string
  agent: string
  request: Omit<PolicyRequest, 'agent'>
  expect: (typeof EFFECTS)[number]
}

export interface CasesFile {
  timeZone: string
  /** The `policies` entry resolved against the cases file, when present. */
  policies?: string
  agents: Map<string, Agent>
  cases: PolicyCase[]
}

export interface CaseResult {
  name: string
  agent: string
  action: string
  resource: string
  expect: string
  effect: string
  pass: boolean
  reasons: string[]
  policies: string[]
}

/** Reads and checks the whole file, reporting every problem at once with its path (`cases[2].expect: ...`). */
export function readCasesFile(file: string, tools: PolicyTools, nowMs: number): CasesFile {
  let value: unknown
  try {
    value = parseYaml(readTextFile(file))
  } catch (cause) {
    if (cause instanceof WritError) throw cause
    throw new WritError('REQUEST_INVALID', `\`${file}\` is not valid YAML or JSON: ${String((cause as Error).message).split('\n')[0]}`, { cause })
  }
  const problems: string[] = []
  const root = record(value, '(file)', problems) ?? {}
  for (const key of Object.keys(root)) if (!TOP_KEYS.has(key)) problems.push(`${key}: unknown key (expected ${[...TOP_KEYS].join(', ')})`)
  const timeZone = optionalString(root.timeZone, 'timeZone', problems) ?? 'UTC'
  const policies = optionalString(root.policies, 'policies', problems)

  const agents = new Map<string, Agent>()
  for (const [name, entry] of Object.entries(record(root.agents, 'agents', problems) ?? {})) {
    const agent = readAgent(name, entry, dirname(file), tools, problems)
    if (agent !== undefined) agents.set(name, agent)
  }

  const cases: PolicyCase[] = []
  const entries: unknown[] = Array.isArray(root.cases) ? root.cases : []
  if (!Array.isArray(root.cases)) problems.push('cases: must be a list of cases')
  else if (entries.length === 0) problems.push('cases: the list is empty')
  entries.forEach((entry, index) => {
    const parsed = readCase(entry, `cases[${index}]`, agents, nowMs, problems)
    if (parsed !== undefined) cases.push(parsed)
  })

  if (problems.length > 0) {
    throw new WritError('REQUEST_INVALID', `\`${file}\` has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, { reasons: problems })
  }
  return { timeZone, ...(policies === undefined ? {} : { policies: resolve(dirname(file), policies) }), agents, cases }
}

/** Decides every case with one engine built from `files`, declaring the capabilities of the listed agents. */
export function runCases(tools: PolicyTools, files: Readonly<Record<string, string>>, cases: CasesFile): CaseResult[] {
  const declaredActions = [...new Set([...cases.agents.values()].flatMap((agent) => agent.document.capabilities.map((c) => c.id)))].sort()
  const engine = tools.CedarPolicyEngine.create({ files, declaredActions, timeZone: cases.timeZone })
  try {
    return cases.cases.map((c) => {
      const agent = cases.agents.get(c.agent) as Agent
      const decision: PolicyDecision = engine.decide({ ...c.request, agent })
      return {
        name: c.name, agent: c.agent, action: c.request.action, resource: c.request.resource, expect: c.expect,
        effect: decision.effect, pass: decision.effect === c.expect, reasons: decision.reasons, policies: decision.policies,
      }
    })
  } finally {
    engine.dispose()
  }
}

function readAgent(name: string, entry: unknown, base: string, tools: PolicyTools, problems: string[]): Agent | undefined {
  let document: unknown = entry
  if (typeof entry === 'string') {
    try {
      document = readIdentityDocument(resolve(base, entry))
    } catch (error) {
      problems.push(`agents.${name}: ${error instanceof WritError ? error.detail : String(error)}`)
      return undefined
    }
  } else if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    problems.push(`agents.${name}: must be the path of an identity document or the document itself`)
    return undefined
  }
  const parsed = tools.agentDocumentSchema.safeParse(document)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`agents.${name}.${issue.path.map(String).join('.') || '(document)'}: ${issue.message}`)
    return undefined
  }
  return testAgent(name, parsed.data)
}

/** A registry record for a document under test: a stable id per name, so policies may name agents by id too. */
function testAgent(name: string, document: AgentDocument): Agent {
  const hex = createHash('sha256').update(`writ-policy-test:${name}`).digest('hex')
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`
  return { id, name: document.name, status: 'active', version: 1, document, created_at: '2025-01-01T00:00:00.000Z', updated_at: '2025-01-01T00:00:00.000Z' }
}

function readCase(entry: unknown, path: string, agents: Map<string, Agent>, nowMs: number, problems: string[]): PolicyCase | undefined {
  const before = problems.length
  const c = record(entry, path, problems)
  if (c === undefined) return undefined
  for (const key of Object.keys(c)) if (!CASE_KEYS.has(key)) problems.push(`${path}.${key}: unknown key`)
  const name = requiredString(c.name, `${path}.name`, problems)
  const agent = requiredString(c.agent, `${path}.agent`, problems)
  if (agent !== undefined && !agents.has(agent)) problems.push(`${path}.agent: \`${agent}\` is not listed under agents (or its document is invalid)`)
  const action = requiredString(c.action, `${path}.action`, problems)
  const resource = requiredString(c.resource, `${path}.resource`, problems)
  const expect = oneOf(c.expect, EFFECTS, `${path}.expect`, problems)
  const access = c.access === undefined ? undefined : oneOf(c.access, ACCESS_TYPES, `${path}.access`, problems)
  const time = c.time instanceof Date ? c.time.toISOString() : optionalString(c.time, `${path}.time`, problems)
  const timeMs = time === undefined ? nowMs : Date.parse(time)
  if (Number.isNaN(timeMs)) problems.push(`${path}.time: not an ISO 8601 timestamp`)
  const step = optionalString(scalar(c.step), `${path}.step`, problems)
  const purpose = optionalString(c.purpose, `${path}.purpose`, problems)
  const task = optionalString(scalar(c.task), `${path}.task`, problems) ?? 'T-test'
  const sourceIp = optionalString(c.source_ip, `${path}.source_ip`, problems)
  const host = optionalString(c.host, `${path}.host`, problems)
  const parameters = c.parameters === undefined ? undefined : record(c.parameters, `${path}.parameters`, problems)
  if (problems.length > before) return undefined

  const request: Omit<PolicyRequest, 'agent'> = {
    action: action as string, resource: resource as string, timeMs,
    task: { id: task, ...(step === undefined ? {} : { step }), ...(purpose === undefined ? {} : { purpose }) },
    ...(sourceIp === undefined ? {} : { sourceIp }),
    ...(host === undefined ? {} : { host }),
    ...(access === undefined ? {} : { accessType: access }),
    ...(parameters === undefined ? {} : { parameters }),
  }
  return { name: name as string, agent: agent as string, request, expect: expect as PolicyCase['expect'] }
}

function record(value: unknown, path: string, problems: string[]): Record<string, unknown> | undefined {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) return value as Record<string, unknown>
  problems.push(`${path}: must be a mapping`)
  return undefined
}

function requiredString(value: unknown, path: string, problems: string[]): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value
  problems.push(`${path}: required, a non-empty string`)
  return undefined
}

function optionalString(value: unknown, path: string, problems: string[]): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string') return value
  problems.push(`${path}: must be a string`)
  return undefined
}

/** YAML reads `step: 3` as a number; a step or task id is text. */
function scalar(value: unknown): unknown {
  return typeof value === 'number' ? String(value) : value
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string, problems: string[]): T | undefined {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
  problems.push(`${path}: must be one of ${allowed.join(', ')}`)
  return undefined
}
