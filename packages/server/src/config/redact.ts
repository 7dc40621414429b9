/** Redacts secret settings before configuration is printed or logged. */
import { SECRET_PATHS, type Config } from './schema.js'

export function redactConfig(config: Config): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, Record<string, unknown>>
  for (const path of SECRET_PATHS) {
    const [section, key] = path.split('.') as [string, string]
    const holder = copy[section]
    if (holder && holder[key] !== undefined) holder[key] = '[redacted]'
  }
  return copy
}
