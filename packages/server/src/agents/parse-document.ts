/** Turns an untrusted identity document (already decoded from YAML or JSON) into a valid AgentDocument. */
import { calculateJwkThumbprint } from 'jose'
import { WritError, importVerificationKey } from '@writ/sdk'
import { agentDocumentSchema, type AgentDocument, type PublicJwk } from './agent-document.js'

export async function parseAgentDocument(input: unknown): Promise<AgentDocument> {
  const parsed = agentDocumentSchema.safeParse(input)
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(document)'}: ${issue.message}`)
    throw new WritError('AGENT_DOCUMENT_INVALID', `the identity document is invalid: ${reasons.join('; ')}`, { reasons })
  }
  const document = parsed.data
  await checkPublicKeys(document.jwks.keys, 'AGENT_DOCUMENT_INVALID')
  return document
}

/**
 * Refuses a key that is not an Ed25519 or P-256 public key, fills in missing kids (RFC 7638 thumbprints) and refuses
 * duplicates; shared by every registered client's document (agents, resource servers).
 */
export async function checkPublicKeys(keys: PublicJwk[], code: 'AGENT_DOCUMENT_INVALID' | 'RESOURCE_SERVER_DOCUMENT_INVALID', path = 'jwks.keys'): Promise<void> {
  const kids = new Set<string>()
  for (const [index, jwk] of keys.entries()) {
    // untrusted: a key that carries private members or an unsupported curve is refused, never silently stripped.
    try {
      importVerificationKey(jwk)
    } catch {
      throw new WritError(code, `${path}.${index}: not an Ed25519 or P-256 public key`, { reasons: [`${path}.${index}: invalid key`] })
    }
    jwk.kid ??= await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.y ? { y: jwk.y } : {}) })
    if (kids.has(jwk.kid)) {
      throw new WritError(code, `${path}.${index}: duplicate kid \`${jwk.kid}\``, { reasons: [`${path}.${index}.kid: duplicate`] })
    }
    kids.add(jwk.kid)
  }
}
