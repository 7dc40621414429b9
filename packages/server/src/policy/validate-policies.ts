/** Offline validation of policy files against the published schema: ids, syntax, types; one problem per finding. */
import type { DetailedError, Expr, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs'
import { checkParsePolicySet, policySetTextToParts, policyToJson, validate } from './cedar-wasm.js'
import { ACTION_TYPE, cedarSchemaText } from './cedar-schema.js'
import { declaredIdOf, positionOf, splitPolicies, type PolicySource } from './policy-source.js'
import { sshGrantOf } from '../hosts/ssh-annotations.js'

export interface PolicyProblem {
  /** The policy's id, when the problem belongs to one policy. */
  policy?: string
  file?: string
  line?: number
  column?: number
  message: string
}

export interface PolicySummary {
  id: string
  file: string
  effect: 'permit' | 'forbid'
  /** The actions the policy's scope names, or 'all' when its scope does not constrain the action. */
  actions: string[] | 'all'
  /** A permit annotated `@hold`: when it decides, the request waits for a human. */
  hold: boolean
}

export interface PolicyValidation {
  ok: boolean
  errors: PolicyProblem[]
  warnings: PolicyProblem[]
  policies: PolicySummary[]
}

export interface CompiledPolicy extends PolicySummary {
  text: string
  json: PolicyJson
}

/** Ids Writ itself puts in decisions; a policy may not claim them and so impersonate the boundary. */
const RESERVED_ID_PREFIX = 'writ.'
// Used only when no agent and no policy names an action, so that policies are still type-checked.
const PLACEHOLDER_ACTION = 'writ.placeholder'

export function validatePolicyFiles(files: Readonly<Record<string, string>>, declaredActions: readonly string[]): PolicyValidation {
  return compilePolicyFiles(files, declaredActions).validation
}

/** `deploys#0` (deploys.cedar:3:15): message */
export function describeProblem(problem: PolicyProblem): string {
  const where = problem.file === undefined ? '' : problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column}`
  const parts = [problem.policy === undefined ? '' : `\`${problem.policy}\``, where === '' ? '' : `(${where})`].filter((part) => part !== '')
  return parts.length === 0 ? problem.message : `${parts.join(' ')}: ${problem.message}`
}

export function compilePolicyFiles(
  files: Readonly<Record<string, string>>, declaredActions: readonly string[],
): { validation: PolicyValidation; policies: CompiledPolicy[] } {
  const errors: PolicyProblem[] = []
  const warnings: PolicyProblem[] = []
  const policies: CompiledPolicy[] = []
  const sources = new Map<string, { source: PolicySource; fileText: string }>()
  const referenced = new Map<string, Set<string>>()

  for (const file of Object.keys(files).sort()) {
    const fileText = files[file] ?? ''
    const split = splitPolicies(file, fileText)
    let fileParsed = true
    for (const source of split) {
      const parsed = policyToJson(source.text)
      if (parsed.type === 'failure') {
        fileParsed = false
        const policy = declaredIdOf(source.text) ?? `${file}#${source.index}`
        errors.push(...parsed.errors.map((error) => problemAt(policy, fileText, source, error)))
        continue
      }
      const id = idOf(parsed.json, source)
      if (typeof id !== 'string') {
        errors.push({ policy: `${file}#${source.index}`, ...locate(fileText, source, firstTokenOffset(source.text)), message: id.problem })
        continue
      }
      const earlier = sources.get(id)
      if (earlier !== undefined) {
        const at = locate(earlier.fileText, earlier.source, firstTokenOffset(earlier.source.text))
        errors.push({ policy: id, ...locate(fileText, source, firstTokenOffset(source.text)), message: `duplicate policy id \`${id}\`, first used at ${at.file}:${at.line}:${at.column}` })
        continue
      }
      sources.set(id, { source, fileText })
      // SSH logins take their principals and options from these annotations: a bad value must stop the load, not a login.
      const ssh = sshGrantOf(parsed.json.annotations as Record<string, string> | undefined, parsed.json.effect)
      if (ssh !== undefined && 'problem' in ssh) errors.push({ policy: id, ...locate(fileText, source, firstTokenOffset(source.text)), message: ssh.problem })
      referenced.set(id, actionLiterals(parsed.json))
      policies.push({ id, file, text: source.text, json: parsed.json, effect: parsed.json.effect, actions: scopeActions(parsed.json), hold: isHold(parsed.json) })
    }
    // Cedar's parser is the judge of where policies begin and end: the split must agree with it.
    if (fileParsed) {
      const whole = checkParsePolicySet({ staticPolicies: fileText })
      const parts = whole.type === 'success' ? policySetTextToParts(fileText) : undefined
      if (whole.type === 'failure') errors.push(...whole.errors.map((error) => ({ file, message: error.message })))
      else if (parts?.type === 'success' && (parts.policies.length !== split.length || parts.policy_templates.length > 0)) {
        errors.push({ file, message: `cedar reads ${parts.policies.length} policies and ${parts.policy_templates.length} templates where writ reads ${split.length} policies` })
      }
    }
  }

  const literals = new Set<string>()
  for (const actions of referenced.values()) for (const action of actions) literals.add(action)
  const declared = new Set(declaredActions)
  for (const [id, actions] of referenced) {
    const entry = sources.get(id)
    for (const action of [...actions].sort()) {
      if (declared.has(action)) continue
      warnings.push({ policy: id, ...(entry && locate(entry.fileText, entry.source, firstTokenOffset(entry.source.text))), message: `action \`${action}\` is not declared by any registered agent` })
    }
  }

  if (policies.length > 0) {
    const actions = [...new Set([...declaredActions, ...literals])]
    const schema = cedarSchemaText(actions.length > 0 ? actions : [PLACEHOLDER_ACTION])
    const answer = validate({
      schema,
      policies: { staticPolicies: Object.fromEntries(policies.map((policy) => [policy.id, policy.text])) },
      validationSettings: { mode: 'strict' },
    })
    if (answer.type === 'failure') {
      errors.push(...answer.errors.map((error) => ({ message: `schema: ${error.message}` })))
    } else {
      errors.push(...distinct(answer.validationErrors.map(({ policyId, error }) => policyProblem(policyId, error, sources))))
      warnings.push(...distinct(answer.validationWarnings.map(({ policyId, error }) => policyProblem(policyId, error, sources))))
      for (const error of answer.otherWarnings) warnings.push({ message: error.message })
    }
  }

  const summaries = policies.map(({ id, file, effect, actions, hold }) => ({ id, file, effect, actions, hold }))
  return { validation: { ok: errors.length === 0, errors, warnings, policies: summaries }, policies: errors.length === 0 ? policies : [] }
}

function idOf(json: PolicyJson, source: PolicySource): string | { problem: string } {
  const annotations = json.annotations ?? {}
  if (!Object.hasOwn(annotations, 'id')) return `${source.file}#${source.index}`
  const id = annotations.id
  if (typeof id !== 'string' || id.length === 0) return { problem: '`@id` needs a non-empty value, as in `@id("deploys-business-hours")`' }
  if (id.length > 128) return { problem: '`@id` is longer than 128 characters' }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(id)) return { problem: '`@id` contains a control character' }
  if (id.startsWith(RESERVED_ID_PREFIX)) return { problem: `\`@id\` values starting with \`${RESERVED_ID_PREFIX}\` are reserved for writ` }
  return id
}

function isHold(json: PolicyJson): boolean {
  return json.effect === 'permit' && Object.hasOwn(json.annotations ?? {}, 'hold')
}

function scopeActions(json: PolicyJson): string[] | 'all' {
  const scope = json.action
  if (scope.op === 'All') return 'all'
  const uids = 'entities' in scope ? scope.entities : 'entity' in scope ? [scope.entity] : []
  return [...new Set(uids.map(uidOf).filter((uid) => uid.type === ACTION_TYPE).map((uid) => uid.id))].sort()
}

/** Every `Writ::Action` literal in the scope and the conditions, so the schema declares each one. */
function actionLiterals(json: PolicyJson): Set<string> {
  const found = new Set<string>()
  const scope = scopeActions(json)
  if (scope !== 'all') for (const action of scope) found.add(action)
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk)
    if (typeof value !== 'object' || value === null) return
    const entity = (value as { __entity?: { type?: unknown; id?: unknown } }).__entity
    if (entity !== undefined && entity.type === ACTION_TYPE && typeof entity.id === 'string') found.add(entity.id)
    for (const member of Object.values(value)) walk(member)
  }
  for (const clause of json.conditions) walk(clause.body as Expr)
  return found
}

function uidOf(uid: { __entity: { type: string; id: string } } | { type: string; id: string }): { type: string; id: string } {
  return '__entity' in uid ? uid.__entity : uid
}

function policyProblem(policyId: string, error: DetailedError, sources: Map<string, { source: PolicySource; fileText: string }>): PolicyProblem {
  const entry = sources.get(policyId)
  if (entry === undefined) return { policy: policyId, message: message(error) }
  return problemAt(policyId, entry.fileText, entry.source, error)
}

function problemAt(policy: string, fileText: string, source: PolicySource, error: DetailedError): PolicyProblem {
  const offset = error.sourceLocations?.[0]?.start ?? firstTokenOffset(source.text)
  return { policy, ...locate(fileText, source, offset), message: message(error) }
}

function locate(fileText: string, source: PolicySource, byteOffset: number): { file: string; line: number; column: number } {
  return { file: source.file, ...positionOf(fileText, source, byteOffset) }
}

/** Cedar checks a policy once per action it may apply to; every action shares one context, so the findings repeat. */
function distinct(problems: PolicyProblem[]): PolicyProblem[] {
  const seen = new Set<string>()
  return problems.filter((problem) => {
    const key = describeProblem(problem)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function message(error: DetailedError): string {
  // Cedar names the policy inside its message; the problem already names it, by the id users know. The action it
  // names is whichever one it checked first: every action shares the context, so the finding holds for all of them.
  const text = error.message.replace(/^for policy `[^`]*`, /, '').replace(/ for Writ::Action::"(?:[^"\\]|\\.)*"/, '')
  const label = error.sourceLocations?.find((location) => location.label)?.label
  const extras = [label, error.help].filter((extra): extra is string => typeof extra === 'string' && extra.length > 0)
  return extras.length === 0 ? text : `${text} (${extras.join('; ')})`
}

/** Byte offset of the first character that is not whitespace or part of a comment (where a policy "is"). */
function firstTokenOffset(text: string): number {
  const match = /^(?:\s|\/\/[^\n]*(?:\n|$))*/.exec(text)
  return Buffer.byteLength(text.slice(0, match?.[0].length ?? 0), 'utf8')
}
