/** Builds the configuration from defaults, a YAML file, WRIT_* environment variables and flags, in that order. */
import { readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import type { z } from 'zod'
import { WritError } from '@writ/sdk'
import { fileErrorReason } from './file-error.js'
import { configSchema, SECRET_PATHS, type Config } from './schema.js'

export interface ConfigSources {
  file?: string
  env?: NodeJS.ProcessEnv
  /** Already-structured overrides from command-line flags. */
  flags?: Record<string, unknown>
}

// Variables the CLI reads for itself; they are not server settings, so they are not errors either.
const CLIENT_VARIABLES = new Set(['WRIT_URL', 'WRIT_ADMIN_URL', 'WRIT_ADMIN_TOKEN', 'WRIT_CONFIG_DIR', 'WRIT_TEST_DATABASE_URL', 'WRIT_CONFIG'])

/**
 * Where each setting came from, by dotted path: `WRIT_SERVER__PORT`, `writ.yaml: server.port` or
 * `command line: server.port`. A problem is reported under the name the operator wrote, not only the schema path.
 */
type Origins = Map<string, string>

export function loadConfig(sources: ConfigSources = {}): Config {
  const problems: string[] = []
  const origins: Origins = new Map()
  let merged: Record<string, unknown> = {}
  if (sources.file) {
    const file = sources.file
    const values = readConfigFile(file, problems)
    recordOrigins(origins, values, [], (path) => `${file}: ${path}`)
    merged = deepMerge(merged, values)
  }
  const environment = readEnvironment(sources.env ?? {}, problems)
  recordOrigins(origins, environment.values, [], (path) => environment.names.get(path) ?? path)
  merged = deepMerge(merged, environment.values)
  recordOrigins(origins, sources.flags ?? {}, [], (path) => `command line: ${path}`)
  merged = deepMerge(merged, sources.flags ?? {})
  const parsed = configSchema.safeParse(merged)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...describeIssue(issue, origins))
  }
  if (problems.length > 0 || !parsed.success) {
    throw new WritError('CONFIG_INVALID', `configuration is invalid: ${problems.join('; ')}`, { reasons: problems })
  }
  return parsed.data
}

function readConfigFile(file: string, problems: string[]): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    problems.push(`${file}: cannot read the configuration file: ${fileErrorReason(cause)}`)
    return {}
  }
  const document = parseDocument(text)
  if (document.errors.length > 0) {
    const lines = text.split(/\r?\n/)
    for (const error of document.errors) {
      const at = error.linePos?.[0]
      // yaml's message repeats the position and a code frame after the first line; we print our own, one line each.
      const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')
      const line = at === undefined ? undefined : redactSecretLine(lines[at.line - 1] ?? '')
      problems.push(at === undefined ? `${file}: ${lowerFirst(message)}`
        : `${file}:${at.line}:${at.col}: ${lowerFirst(message)}${line?.trim() ? `: \`${line.trimEnd()}\`` : ''}`)
    }
    return {}
  }
  const value: unknown = document.toJS()
  if (value === null || value === undefined) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${file}: the configuration file must hold a mapping of settings (such as \`server:\`)`)
    return {}
  }
  return value as Record<string, unknown>
}

// The line of a YAML error is printed; a line that sets a secret (`encryptionKey: …`) shows the key only.
const SECRET_KEYS = new Set(SECRET_PATHS.map((path) => path.split('.').at(-1) as string))

function redactSecretLine(line: string): string {
  const key = /^\s*-?\s*["']?([A-Za-z]+)["']?\s*:/.exec(line)?.[1]
  return key !== undefined && SECRET_KEYS.has(key) ? `${line.slice(0, line.indexOf(':') + 1)} [redacted]` : line
}

/**
 * Maps `WRIT_SECTION__SETTING_NAME` to `section.settingName`; a single segment (`WRIT_DATA_DIR`) names a top-level
 * setting. Values are parsed as JSON when they look like numbers, booleans or arrays, so `WRIT_SERVER__PORT=9000` works.
 */
export function fromEnvironment(env: NodeJS.ProcessEnv, problems: string[] = []): Record<string, unknown> {
  return readEnvironment(env, problems).values
}

function readEnvironment(env: NodeJS.ProcessEnv, problems: string[]): { values: Record<string, unknown>; names: Map<string, string> } {
  const values: Record<string, unknown> = {}
  const names = new Map<string, string>()
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('WRIT_') || raw === undefined || CLIENT_VARIABLES.has(name)) continue
    const path = name.slice(5).split('__').map(snakeToCamel)
    if (path.some((segment) => segment.length === 0)) {
      problems.push(`${name}: not a valid setting name (WRIT_SECTION__SETTING, such as WRIT_SERVER__PORT)`)
      continue
    }
    let holder = values
    for (const segment of path.slice(0, -1)) {
      const next = holder[segment]
      holder = (typeof next === 'object' && next !== null ? next : (holder[segment] = {})) as Record<string, unknown>
    }
    holder[path.at(-1) as string] = parseScalar(raw)
    names.set(path.join('.'), name)
  }
  return { values, names }
}

function snakeToCamel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

function parseScalar(raw: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(raw) || raw === 'true' || raw === 'false' || raw.startsWith('[')) {
    try { return JSON.parse(raw) } catch { return raw }
  }
  return raw
}

/** Records the origin of every leaf of one layer; a later layer's leaf replaces what it covers (and what covers it). */
function recordOrigins(origins: Origins, value: Record<string, unknown>, at: string[], label: (path: string) => string): void {
  for (const [key, child] of Object.entries(value)) {
    const path = [...at, key]
    const dotted = path.join('.')
    for (let i = 1; i < path.length; i++) origins.delete(path.slice(0, i).join('.'))
    if (isPlainObject(child) && Object.keys(child).length > 0) {
      recordOrigins(origins, child, path, label)
      continue
    }
    for (const known of [...origins.keys()]) if (known.startsWith(`${dotted}.`)) origins.delete(known)
    origins.set(dotted, label(dotted))
  }
}

/** The origin of a path, or of the nearest enclosing value the operator set (`server: 8080` for `server.port`). */
function originOf(origins: Origins, path: readonly PropertyKey[]): { label: string; exact: boolean } | undefined {
  for (let length = path.length; length > 0; length--) {
    const label = origins.get(path.slice(0, length).map(String).join('.'))
    if (label !== undefined) return { label, exact: length === path.length }
  }
  return undefined
}

function describeIssue(issue: z.core.$ZodIssue, origins: Origins): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...issue.path, key]
      return `${originOf(origins, path)?.label ?? path.map(String).join('.')}: unknown setting`
    })
  }
  const dotted = issue.path.map(String).join('.') || '(root)'
  const origin = originOf(origins, issue.path)
  // Environment values are text until parsed, so "received string" would puzzle; say what was expected.
  const message = issue.code === 'invalid_type' && origin?.label.startsWith('WRIT_') ? `expected ${article(issue.expected)}` : lowerFirst(issue.message)
  if (origin === undefined) return [`${dotted}: ${message}`]
  // The label names the path itself (`writ.yaml: server.port`, `WRIT_SERVER__PORT`), or a value that encloses it.
  return [origin.exact ? `${origin.label}: ${message}` : `${origin.label} (${dotted}): ${message}`]
}

function article(expected: string): string {
  return expected === 'object' || expected === 'array' ? `an ${expected}` : `a ${expected}`
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const current = out[key]
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value
  }
  return out
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
