/**
 * issueUserCertificate(): an `ssh.login` capability token in, an OpenSSH user certificate out. Verify the token
 * (ssh-login-token.ts), check the host is enrolled and active, build the certificate (principals `<user>@<host>`, key
 * id naming agent, task and jti, a lifetime of minutes), then spend the jti, record the certificate and audit it in one
 * group-committed transaction before answering.
 */
import { randomBytes } from 'node:crypto'
import { WritError, type IssuedSshCertificate } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { IssuanceLog } from '../tokens/issuance-log.js'
import type { SshHostDirectory } from './host-directory.js'
import { signCertificate } from './ssh-certificate.js'
import type { SshCa } from './ssh-certificate-authorities.js'
import { verifySshLoginToken, type PresentedSshLogin, type SshLoginTokenDeps } from './ssh-login-token.js'
import { parseSshPublicKey } from './ssh-public-key.js'

export interface IssueUserCertificateDeps extends SshLoginTokenDeps {
  hosts: Pick<SshHostDirectory, 'byName'>
  ca: SshCa
  /** The token endpoint's group commit: a certificate's spend, row and audit record share its transactions. */
  log: Pick<IssuanceLog, 'commit'>
  clock: Clock
  settings: { certificateTtlSeconds: number; maxCertificateTtlSeconds: number }
}

/** The replay-store key under which `ssh.login` jtis are spent. */
export const SPEND_KEY = 'ssh.login'

// Back-dated so a host whose clock is a little behind still accepts a certificate it is handed at once.
export const BACKDATE_SECONDS = 30

export async function issueUserCertificate(presented: PresentedSshLogin, body: unknown, deps: IssueUserCertificateDeps): Promise<IssuedSshCertificate> {
  const grant = await verifySshLoginToken(presented, deps)
  const publicKey = parseSshPublicKey((body as { public_key?: unknown } | null)?.public_key)
  const host = deps.hosts.byName(grant.hostName)
  if (host?.status !== 'active') throw new WritError('HOST_NOT_FOUND', `the host \`${grant.hostName}\` is not enrolled or was removed`)
  const { claims } = grant
  const now = deps.clock.nowSeconds()
  const ttl = Math.min(deps.settings.certificateTtlSeconds, deps.settings.maxCertificateTtlSeconds)
  // Never past the token: what policy allowed for minutes is not stretched by exchanging it late.
  const validBefore = Math.min(claims.exp, now + ttl)
  if (validBefore <= now) throw new WritError('TOKEN_EXPIRED', 'the token has expired', { reasons: ['exp_passed'] })
  const validAfter = now - BACKDATE_SECONDS
  // SSH-05: `<user>@<host>`, matched by sshd's AuthorizedPrincipalsCommand `/bin/echo %u@<host>`, so no other host opens.
  const principals = grant.users.map((user) => `${user}@${host.name}`)
  const keyId = `writ:agent=${claims.client_id}:task=${claims.task.id}:jti=${claims.jti}`
  const serial = randomSerial()
  const criticalOptions: Record<string, string> = {
    ...(grant.forceCommand !== undefined ? { 'force-command': grant.forceCommand } : {}),
    ...(grant.sourceAddress !== undefined ? { 'source-address': grant.sourceAddress } : {}),
  }
  const signed = await signCertificate({
    kind: 'user', publicKey, serial, keyId, principals, validAfter, validBefore, criticalOptions, extensions: grant.extensions,
  }, deps.ca.privateKey)
  const resource = `host:${host.name}`
  const outcome = await deps.log.commit({
    // The token's jti is spent in the replay store, keyed apart from every client (ids are UUIDs, never `ssh.login`),
    // kept until the token could no longer verify anyway.
    assertion: {
      clientId: SPEND_KEY, jti: claims.jti, expiresAtMs: (claims.exp + deps.leewaySeconds) * 1000,
      ...(grant.dpop ? { dpop: grant.dpop } : {}),
    },
    sshCertificate: {
      serial: serial.toString(), kind: 'user', key_id: keyId, jti: claims.jti, host_name: host.name,
      iss: claims.iss, agent_id: claims.client_id, subject: claims.sub, task_id: claims.task.id, parent: claims.parent ?? null,
      act: claims.act === undefined ? null : JSON.stringify(claims.act), kid: grant.kid, token_iat: claims.iat,
      principals: JSON.stringify(principals), public_key_fingerprint: publicKey.fingerprint,
      valid_after: validAfter * 1000, valid_before: validBefore * 1000, issued_at: deps.clock.nowMs(),
    },
    audit: {
      type: 'ssh_certificate.issue',
      actor: { kind: 'agent', id: claims.client_id },
      ...(claims.sub !== claims.client_id ? { on_behalf_of: claims.sub } : {}),
      task: { id: claims.task.id },
      action: 'ssh.login', resource,
      decision: { effect: 'allow', reasons: ['capability_token'] },
      token: { jti: claims.jti, exp: claims.exp },
      data: {
        host: host.name, serial: serial.toString(), key_id: keyId, principals, valid_after: validAfter, valid_before: validBefore,
        public_key_fingerprint: publicKey.fingerprint, ...criticalOptionsData(criticalOptions), extensions: grant.extensions,
      },
    },
  })
  switch (outcome) {
    case 'committed': break
    case 'assertion_replayed': throw new WritError('TOKEN_INVALID', 'the token was already exchanged for a certificate', { reasons: ['token_spent'] })
    case 'dpop_proof_replayed': throw new WritError('DPOP_PROOF_INVALID', 'the DPoP proof was already used', { reasons: ['dpop_proof_replayed'] })
    case 'task_revoked': throw new WritError('TOKEN_REVOKED', 'the token has been revoked', { reasons: ['task_revoked'] })
    default: throw new WritError('TOKEN_INVALID', 'the token cannot be exchanged', { reasons: [outcome] })
  }
  return { certificate: signed.line, serial: serial.toString(), key_id: keyId, principals, valid_after: validAfter, valid_before: validBefore }
}

/** A random non-zero 63-bit serial: unique across replicas without coordination (the primary key refuses a clash). */
export function randomSerial(): bigint {
  for (;;) {
    const serial = randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn
    if (serial !== 0n) return serial
  }
}

function criticalOptionsData(options: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [k.replace('-', '_'), v]))
}
