/** Builds the configuration from defaults, a YAML file, WRIT_* environment variables and flags, in that order. */
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { WritError } from '@writ/sdk'
import { configSchema, type Config } from './schema.js'

export interface ConfigSources {
  file?: string
  env?: NodeJS.ProcessEnv
  /** Already-structured overrides from command-line flags. */
  flags?: Record<string, unknown>
}

// Variables the CLI reads for itself; they are not server settings, so they are not errors either.
const CLIENT_VARIABLES = new Set(['WRIT_URL', 'WRIT_ADMIN_URL', 'WRIT_ADMIN_TOKEN', 'WRIT_CONFIG_DIR', 'WRIT_TEST_DATABASE_URL', 'WRIT_CONFIG'])

export function loadConfig(sources: ConfigSources = {}): Config {
  const problems: string[] = []
  let merged: Record<string, unknown> = {}
  if (sources.file) merged = deepMerge(merged, readConfigFile(sources.file, problems))
  merged = deepMerge(merged, fromEnvironment(sources.env ?? {}, problems))
  merged = deepMerge(merged, sources.flags ?? {})
  const parsed = configSchema.safeParse(merged)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${issue.path.join('.') || '(root)'}: ${issue.message}`)
    }
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
    problems.push(`(file): cannot read \`${file}\`: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`)
    return {}
  }
  try {
    const value: unknown = parseYaml(text)
    if (value === null || value === undefined) return {}
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push('(file): the configuration file must hold a mapping')
      return {}
    }
    return value as Record<string, unknown>
  } catch (cause) {
    problems.push(`(file): \`${file}\` is not valid YAML: ${(cause as Error).message.split('\n')[0]}`)
    return {}
  }
}

/**
 * Maps `WRIT_SECTION__SETTING_NAME` to `section.settingName`; a single segment (`WRIT_DATA_DIR`) names a top-level
 * setting. Values are parsed as JSON when they look like numbers, booleans or arrays, so `WRIT_SERVER__PORT=9000` works.
 */
export function fromEnvironment(env: NodeJS.ProcessEnv, problems: string[] = []): Record<string, unknown> {
  const result: Record<string, unknown> = {}
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('WRIT_') || raw === undefined || CLIENT_VARIABLES.has(name)) continue
    const path = name.slice(5).split('__').map(snakeToCamel)
    if (path.some((segment) => segment.length === 0)) {
      problems.push(`${name}: not a valid setting name`)
      continue
    }
    let holder = result
    for (const segment of path.slice(0, -1)) {
      const next = holder[segment]
      holder = (typeof next === 'object' && next !== null ? next : (holder[segment] = {})) as Record<string, unknown>
    }
    holder[path.at(-1) as string] = parseScalar(raw)
  }
  return result
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
