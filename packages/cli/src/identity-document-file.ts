/** Reads an identity document (YAML or JSON) and adds public keys to its `jwks`; the server does the full validation. */
import { WritError } from '@writ/sdk'
import { parse as parseYaml } from 'yaml'
import { readTextFile } from './read-text-file.js'

export type IdentityDocument = Record<string, unknown> & { jwks?: { keys: Record<string, unknown>[] } }

export function readIdentityDocument(file: string): IdentityDocument {
  const text = readTextFile(file)
  let value: unknown
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both; aliases are capped by the library (billion laughs).
    value = parseYaml(text)
  } catch (cause) {
    throw new WritError('AGENT_DOCUMENT_INVALID', `\`${file}\` is not valid YAML or JSON: ${firstLine(cause)}`, { cause })
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WritError('AGENT_DOCUMENT_INVALID', `\`${file}\` must hold a mapping (the identity document)`)
  }
  return value as IdentityDocument
}

/** Appends keys to `document.jwks.keys`, skipping any the document already lists (same kid or same public value). */
export function appendKeys(document: IdentityDocument, keys: readonly Record<string, unknown>[]): IdentityDocument {
  const current: unknown = document.jwks?.keys ?? []
  if (!Array.isArray(current)) throw new WritError('AGENT_DOCUMENT_INVALID', 'the document\'s `jwks.keys` must be a list')
  const merged = [...(current as Record<string, unknown>[])]
  for (const key of keys) {
    const duplicate = merged.some((k) => (key.kid !== undefined && k.kid === key.kid) || (k.x === key.x && k.y === key.y))
    if (!duplicate) merged.push(key)
  }
  return { ...document, jwks: { ...document.jwks, keys: merged } }
}

function firstLine(error: unknown): string {
  return String((error as Error).message ?? error).split('\n')[0] ?? ''
}
