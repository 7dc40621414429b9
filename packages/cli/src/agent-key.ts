/** Generates an agent's key pair as JWKs; the public half carries its RFC 7638 thumbprint as `kid`. */
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'

export type AgentKeyAlgorithm = 'EdDSA' | 'ES256'

export interface AgentKeyPair {
  /** Signs client assertions; stays with the agent. */
  privateJwk: JsonWebKey
  /** Registered in the identity document's `jwks`. */
  publicJwk: JsonWebKey
  kid: string
}

export async function generateAgentKey(algorithm: AgentKeyAlgorithm = 'EdDSA'): Promise<AgentKeyPair> {
  const { privateKey } = algorithm === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const exported = privateKey.export({ format: 'jwk' })
  const { d, ...publicMembers } = exported
  // The thumbprint covers only the required public members, so the same key always gets the same kid.
  const kid = await calculateJwkThumbprint(publicMembers as JWK)
  const publicJwk: JsonWebKey = { ...publicMembers, kid, alg: algorithm, use: 'sig' }
  // The private JWK carries the kid too, so the SDK names the key in every assertion header.
  return { privateJwk: { ...publicJwk, d }, publicJwk, kid }
}
