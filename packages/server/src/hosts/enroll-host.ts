/**
 * enrollHost(): a host presents a join token, its name, its client public key and its SSH host public key; the token is
 * spent, the host registered (and, under the same id, the resource server of its audience, so private_key_jwt, Writ's
 * API token, introspection and the revocation stream work for it unchanged) and audited, all in one transaction.
 */
import { randomUUID } from 'node:crypto'
import { calculateJwkThumbprint } from 'jose'
import { z } from 'zod'
import { importVerificationKey, WritError } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { ResourceServer } from '../resource-servers/resource-server-document.js'
import type { Repositories, Storage } from '../storage/storage.js'
import { HOST_RESOURCE_SERVER_PREFIX, hostAudience, hostNameSchema, type Host } from './host.js'
import { secretMatches, splitJoinToken } from './join-tokens.js'
import { parseSshPublicKey, type SshPublicKey } from '../ssh/ssh-public-key.js'

// untrusted: a strict object refuses `d` (a private key sent by mistake) and any other member; Ed25519 only.
const clientPublicKeySchema = z.strictObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte base64url value'),
  kid: z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/).optional(),
  alg: z.enum(['EdDSA', 'Ed25519']).optional(),
  use: z.literal('sig').optional(),
})

export const enrollmentSchema = z.strictObject({
  join_token: z.string().max(256),
  name: hostNameSchema.optional(),
  client_public_key: clientPublicKeySchema,
  ssh_host_public_key: z.string().max(1_024),
})

export interface EnrollmentResult {
  host_id: string
  name: string
  labels: Record<string, string>
  audience: string
  issuer: string
}

export interface EnrollDeps {
  storage: Storage
  clock: Clock
  issuer: string
}

/** Unknown, malformed, expired, spent or forged: one answer, so a caller learns nothing about which. */
function invalidJoinToken(reason: string): WritError {
  return new WritError('HOST_JOIN_TOKEN_INVALID', 'the join token is not valid (unknown, expired or already used)', { reasons: [reason] })
}

export async function enrollHost(input: unknown, deps: EnrollDeps): Promise<EnrollmentResult> {
  const parsed = enrollmentSchema.safeParse(input)
  if (!parsed.success) {
    // The join token's value is never part of a message; only the path of the problem is.
    const reasons = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.path[0] === 'join_token' ? 'invalid' : issue.message}`)
    throw new WritError('HOST_ENROLLMENT_INVALID', `the enrollment request is invalid: ${reasons.join('; ')}`, { reasons })
  }
  const body = parsed.data
  let sshKey: SshPublicKey
  try {
    sshKey = parseSshPublicKey(body.ssh_host_public_key, ['ssh-ed25519', 'ecdsa-sha2-nistp256'])
  } catch (error) {
    // The parser's message never echoes the input.
    const detail = error instanceof WritError ? error.message.replace(/^public_key/, 'ssh_host_public_key') : 'ssh_host_public_key is invalid'
    throw new WritError('HOST_ENROLLMENT_INVALID', detail, { reasons: ['ssh_host_public_key: invalid'] })
  }
  const jwk = { ...body.client_public_key }
  try {
    importVerificationKey(jwk)
  } catch {
    throw new WritError('HOST_ENROLLMENT_INVALID', 'client_public_key: not an Ed25519 public key', { reasons: ['client_public_key: invalid'] })
  }
  jwk.kid ??= await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x })
  const presented = splitJoinToken(body.join_token)
  if (!presented) throw await auditedFailure(deps, invalidJoinToken('join_token_malformed'), undefined)

  try {
    return await deps.storage.transaction(async (tx) => {
      const nowMs = deps.clock.nowMs()
      const token = await tx.hosts.findJoinToken(presented.id)
      if (!token || !secretMatches(presented.secret, token.secret_hash)) throw invalidJoinToken('join_token_unknown')
      if (token.spent_at !== null) throw invalidJoinToken('join_token_spent')
      if (token.expires_at <= nowMs) throw invalidJoinToken('join_token_expired')
      if (token.name !== null && body.name !== undefined && body.name !== token.name) {
        throw new WritError('HOST_ENROLLMENT_INVALID', 'name: the join token is for another host name', { reasons: ['name: mismatch'] })
      }
      const name = token.name ?? body.name
      if (name === undefined) throw new WritError('HOST_ENROLLMENT_INVALID', 'name: required (the join token names no host)', { reasons: ['name: required'] })
      const id = randomUUID()
      await requireFreeName(tx, name, id)
      // INVARIANT: the spend is conditional in SQL, so of two concurrent enrollments with one token exactly one gets here.
      if (!(await tx.hosts.spendJoinToken(token.id, id, nowMs))) throw invalidJoinToken('join_token_spent')

      const at = new Date(nowMs).toISOString()
      const audience = hostAudience(name)
      const server: ResourceServer = {
        id, name: `${HOST_RESOURCE_SERVER_PREFIX}${name}`, audience, status: 'active', version: 1, created_at: at, updated_at: at,
        document: { name: `${HOST_RESOURCE_SERVER_PREFIX}${name}`, audience, description: `Linux host \`${name}\` (enrolled)`, jwks: { keys: [jwk] } },
      }
      await tx.resourceServers.insert(server)
      await tx.resourceServers.insertVersion({
        resource_server_id: id, version: 1, status: 'active', document: server.document, changed_by: token.created_by, changed_at: at,
        change: { kind: 'register', fields: ['audience', 'jwks', 'name'] },
      })
      const host: Host = {
        id, name, labels: token.labels, ssh_host_public_key: sshKey.line, client_jwk: jwk, status: 'active', version: 1,
        join_token_id: token.id, created_at: at, updated_at: at,
      }
      await tx.hosts.insert(host)
      await tx.hosts.insertVersion({
        host_id: id, version: 1, status: 'active', labels: host.labels, changed_by: `join_token:${token.id}`, changed_at: at,
        change: { kind: 'enroll', fields: ['labels', 'name', 'ssh_host_public_key', 'client_jwk'] },
      })
      await tx.audit.append([{
        type: 'host.enroll',
        actor: { kind: 'host', id },
        decision: { effect: 'allow', reasons: ['join_token_valid'] },
        data: {
          host_id: id, name, labels: host.labels, audience, join_token_id: token.id, join_token_created_by: token.created_by,
          ssh_host_key: { type: sshKey.type, fingerprint: sshKey.fingerprint }, kid: jwk.kid,
        },
      }], nowMs)
      return { host_id: id, name, labels: host.labels, audience, issuer: deps.issuer }
    })
  } catch (error) {
    if (error instanceof WritError && error.code === 'HOST_JOIN_TOKEN_INVALID') throw await auditedFailure(deps, error, presented.id)
    throw mapUnique(error)
  }
}

// A removed host keeps its name for good: audit records, certificates and KRLs name hosts by name.
async function requireFreeName(tx: Repositories, name: string, id: string): Promise<void> {
  const existing = await tx.hosts.findByName(name)
  if (existing) throw new WritError('HOST_CONFLICT', `the host name \`${name}\` is already enrolled${existing.status === 'removed' ? ' (to a removed host; it cannot be reused)' : ''}`)
  if (await tx.resourceServers.findByName(`${HOST_RESOURCE_SERVER_PREFIX}${name}`) || await tx.resourceServers.findByAudience(hostAudience(name))) {
    throw new WritError('HOST_CONFLICT', `the host name \`${name}\` is already in use`)
  }
  // One id namespace for every client that authenticates at the token endpoint.
  if (await tx.agents.find(id) || await tx.resourceServers.find(id)) throw new WritError('HOST_CONFLICT', 'the generated id collides; retry')
}

/** A failed join token is audited (its id when well-formed, never the secret), then answered. */
async function auditedFailure(deps: EnrollDeps, error: WritError, joinTokenId: string | undefined): Promise<WritError> {
  await deps.storage.transaction((tx) => tx.audit.append([{
    type: 'host.enroll_fail',
    actor: { kind: 'host', id: 'unknown' },
    decision: { effect: 'deny', reasons: [...error.reasons] },
    ...(joinTokenId ? { data: { join_token_id: joinTokenId } } : {}),
  }], deps.clock.nowMs()))
  return error
}

/** Two enrollments of one name at once: the loser trips the unique index; report it as the conflict it is. */
function mapUnique(error: unknown): unknown {
  const text = String((error as { message?: unknown })?.message ?? '')
  if (!(error instanceof WritError) && /unique|duplicate key/i.test(text)) {
    return new WritError('HOST_CONFLICT', 'the host name is already enrolled', { cause: error })
  }
  return error
}
