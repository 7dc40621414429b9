/**
 * The rules of capability requests on hosts, applied where the audience is decided (RFC 8707 `resource`): `ssh.login`
 * and `sudo.exec` on `host:<name>` are issued for exactly `urn:writ:host:<name>`, only while that host is active;
 * `sudo.exec` carries exactly `{runas, argv}`; `ssh.login` may only narrow the principals policy grants. Any other
 * request costs one prefix check.
 */
import { WritError, type WritAction } from '@writ/sdk'
import { HOST_AUDIENCE_PREFIX, hostAudience, hostNameOfResource } from './host.js'

export const SSH_LOGIN = 'ssh.login'
export const SUDO_EXEC = 'sudo.exec'

/** Lifetime caps (seconds): a sudo capability is for one command now, an SSH login for one session's start. */
export const HOST_ACTION_MAX_LIFETIME_SECONDS: Readonly<Record<string, number>> = { [SUDO_EXEC]: 300, [SSH_LOGIN]: 900 }

// A portable POSIX user name as Debian's adduser accepts by default (NAME_REGEX), at most 32 characters.
export const UNIX_USER = /^[a-z_][a-z0-9_-]{0,30}[a-z0-9_$-]?$/
export const MAX_ARGV_BYTES = 2_048

export interface HostAudienceSource {
  /** True when `audience` is registered to an active resource server (a host's, for host audiences). */
  accepts(audience: string): boolean
}

/**
 * The audience of a request on a host, or undefined when the request is not about a host (the caller then applies the
 * usual audience rules). Throws the refusal otherwise.
 */
export function hostAudienceOf(action: WritAction, requested: string | undefined, audiences: HostAudienceSource): string | undefined {
  // Other actions on `host:` resources (reading a host's alerts from a monitoring API) keep the usual audience rules.
  if (action.action !== SSH_LOGIN && action.action !== SUDO_EXEC) {
    // untrusted: a host's audience is only ever issued for the host actions, which its agent enforces.
    if (requested?.startsWith(HOST_AUDIENCE_PREFIX)) {
      throw new WritError('TARGET_INVALID', 'a host\'s audience is issued only for ssh.login and sudo.exec on that host', { reasons: ['host_audience_for_other_action'] })
    }
    return undefined
  }
  const name = hostNameOfResource(action.resource)
  if (name === undefined) {
    throw new WritError('AUTHORIZATION_DETAILS_INVALID', `\`${action.action}\` takes a resource \`host:<name>\` naming an enrolled host`, { reasons: ['host_resource_invalid'] })
  }
  const audience = hostAudience(name)
  if (requested !== undefined && requested !== audience) {
    throw new WritError('TARGET_INVALID', `actions on \`host:${name}\` are issued for \`${audience}\` only`, { reasons: ['host_audience_mismatch'] })
  }
  if (!audiences.accepts(audience)) throw new WritError('HOST_NOT_FOUND', `host \`${name}\` is not enrolled or was removed`, { reasons: ['host_not_active'] })
  checkHostParameters(action)
  return audience
}

/** `sudo.exec`: exactly `{runas, argv}`; `ssh.login`: at most `{principals}`, which policy then narrows. */
export function checkHostParameters(action: WritAction): void {
  const parameters = action.parameters
  if (action.action === SUDO_EXEC) {
    if (parameters === undefined) throw invalid('sudo.exec needs parameters {runas, argv}', 'sudo_parameters_missing')
    const keys = Object.keys(parameters).sort()
    if (keys.join(',') !== 'argv,runas') throw invalid('sudo.exec parameters are exactly {runas, argv}', 'sudo_parameters_shape')
    if (typeof parameters.runas !== 'string' || !UNIX_USER.test(parameters.runas)) throw invalid('parameters.runas: a unix user name', 'sudo_runas_invalid')
    const argv = parameters.argv
    if (!Array.isArray(argv) || argv.length === 0 || argv.length > 256) throw invalid('parameters.argv: a non-empty array of strings', 'sudo_argv_invalid')
    for (const [index, arg] of argv.entries()) {
      // argv is compared as a vector on the host, never as a string: each element must survive execve unchanged.
      if (typeof arg !== 'string' || arg.includes('\u0000')) throw invalid(`parameters.argv.${index}: a string without NUL`, 'sudo_argv_invalid')
    }
    if ((argv[0] as string).length === 0) throw invalid('parameters.argv.0: the command must not be empty', 'sudo_argv_invalid')
    if (Buffer.byteLength(JSON.stringify(argv)) > MAX_ARGV_BYTES) throw invalid(`parameters.argv exceeds ${MAX_ARGV_BYTES} bytes`, 'sudo_argv_too_large')
  } else if (action.action === SSH_LOGIN && parameters !== undefined) {
    const keys = Object.keys(parameters)
    // force_command, source_address and extensions come from policy only: a request cannot name them.
    if (keys.some((key) => key !== 'principals')) throw invalid('ssh.login parameters may only name `principals`; policy decides the rest', 'ssh_parameters_shape')
    const principals = parameters.principals
    if (principals !== undefined && (!Array.isArray(principals) || principals.length === 0 || principals.length > 32
      || !principals.every((p) => typeof p === 'string' && UNIX_USER.test(p)))) {
      throw invalid('parameters.principals: a non-empty array of unix user names', 'ssh_principals_invalid')
    }
  }
}

/** The lifetime cap of a host action, or undefined for any other action. */
export function hostActionMaxLifetime(action: string): number | undefined {
  return action === SUDO_EXEC || action === SSH_LOGIN ? HOST_ACTION_MAX_LIFETIME_SECONDS[action] : undefined
}

function invalid(detail: string, reason: string): WritError {
  return new WritError('AUTHORIZATION_DETAILS_INVALID', detail, { reasons: [reason] })
}
