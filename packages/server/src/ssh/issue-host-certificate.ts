/**
 * issueHostCertificate(): an enrolled host, authenticated by its Writ API token, gets an OpenSSH host certificate for
 * its registered SSH host key, with its name as the only principal. Low volume (once per host per renewal), so it
 * commits in a transaction of its own.
 */
import { WritError } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { Storage } from '../storage/storage.js'
import type { SshHost, SshHostDirectory } from './host-directory.js'
import { BACKDATE_SECONDS, randomSerial } from './issue-user-certificate.js'
import { signCertificate } from './ssh-certificate.js'
import type { SshCa } from './ssh-certificate-authorities.js'
import { parseSshPublicKey, type SshKeyType } from './ssh-public-key.js'

export const HOST_KEY_TYPES: readonly SshKeyType[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256']

export interface IssueHostCertificateDeps {
  hosts: Pick<SshHostDirectory, 'byId'>
  ca: SshCa
  storage: Pick<Storage, 'transaction'>
  clock: Clock
  settings: { hostCertificateTtlSeconds: number }
}

export async function issueHostCertificate(hostId: string, body: unknown, deps: IssueHostCertificateDeps): Promise<{ certificate: string; serial: string; valid_before: number }> {
  const host = activeHost(hostId, deps.hosts)
  const publicKey = parseSshPublicKey((body as { public_key?: unknown } | null)?.public_key, HOST_KEY_TYPES)
  // SSH-11: only the key enrolled for this host; a stolen API token cannot certify an attacker's key under its name.
  const registered = parseSshPublicKey(host.sshHostPublicKey, HOST_KEY_TYPES)
  if (!registered.blob.equals(publicKey.blob)) {
    throw new WritError('REQUEST_INVALID', 'public_key is not the SSH host key registered for this host', { reasons: ['host_key_mismatch'] })
  }
  const now = deps.clock.nowSeconds()
  const validAfter = now - BACKDATE_SECONDS
  const validBefore = now + deps.settings.hostCertificateTtlSeconds
  const serial = randomSerial()
  const keyId = `writ:host=${host.name}:id=${host.id}`
  const signed = await signCertificate({ kind: 'host', publicKey, serial, keyId, principals: [host.name], validAfter, validBefore }, deps.ca.privateKey)
  const nowMs = deps.clock.nowMs()
  await deps.storage.transaction(async (tx) => {
    await tx.sshCertificates.insert([{
      serial: serial.toString(), kind: 'host', key_id: keyId, jti: null, host_name: host.name, iss: null, agent_id: null, subject: null,
      task_id: null, parent: null, act: null, kid: null, token_iat: null, principals: JSON.stringify([host.name]),
      public_key_fingerprint: publicKey.fingerprint, valid_after: validAfter * 1000, valid_before: validBefore * 1000, issued_at: nowMs,
    }])
    await tx.audit.append([{
      type: 'ssh_certificate.issue', actor: { kind: 'host', id: host.id }, resource: `host:${host.name}`,
      decision: { effect: 'allow', reasons: ['host_api_token'] },
      data: { kind: 'host', host: host.name, serial: serial.toString(), key_id: keyId, principals: [host.name], valid_after: validAfter, valid_before: validBefore, public_key_fingerprint: publicKey.fingerprint },
    }], nowMs)
  }).catch((cause: unknown) => {
    throw new WritError('AUDIT_UNAVAILABLE', 'the audit log cannot be written; nothing was issued', { cause })
  })
  return { certificate: signed.line, serial: serial.toString(), valid_before: validBefore }
}

/** The calling host (its API token's client id), which must be enrolled and active. */
export function activeHost(hostId: string, hosts: Pick<SshHostDirectory, 'byId'>): SshHost {
  const host = hosts.byId(hostId)
  if (host?.status !== 'active') throw new WritError('HOST_NOT_FOUND', 'the calling client is not an enrolled, active host')
  return host
}
