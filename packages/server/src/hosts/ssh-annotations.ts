/**
 * What a Cedar permit grants an SSH login, from its annotations: `@ssh_principals("deploy ops")` (unix users),
 * `@ssh_force_command("...")`, `@ssh_source_address("10.0.0.0/8,127.0.0.1")`, `@ssh_extensions("permit-pty")`.
 * Validated when the policy set loads (a bad value stops the load), read at mint time for the determining permits.
 */
import { isIP } from 'node:net'
import { UNIX_USER } from './host-actions.js'

export const SSH_ANNOTATIONS = ['ssh_principals', 'ssh_force_command', 'ssh_source_address', 'ssh_extensions'] as const
/** The extensions OpenSSH defines for user certificates (PROTOCOL.certkeys); `permit-pty` is the default. */
export const SSH_EXTENSIONS = ['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc'] as const
export const DEFAULT_SSH_EXTENSIONS: readonly string[] = ['permit-pty']

export interface SshGrant {
  principals: string[]
  forceCommand?: string
  sourceAddress?: string
  extensions: string[]
}

/**
 * The grant of one policy's annotations: undefined when it has no `ssh_*` annotation, `{ problem }` when one is malformed
 * (the message names the annotation, never more than the policy author wrote).
 */
export function sshGrantOf(annotations: Readonly<Record<string, string | null | undefined>> | undefined, effect: 'permit' | 'forbid'): SshGrant | { problem: string } | undefined {
  if (annotations === undefined || !SSH_ANNOTATIONS.some((name) => Object.hasOwn(annotations, name))) return undefined
  if (effect !== 'permit') return { problem: '`@ssh_*` annotations belong on permit policies (a forbid grants nothing)' }
  const principalsText = annotations.ssh_principals
  if (typeof principalsText !== 'string') return { problem: '`@ssh_principals("user ...")` is required with any other `@ssh_*` annotation' }
  const principals = principalsText.split(' ').filter((p) => p !== '')
  if (principals.length === 0 || principals.length > 32) return { problem: '`@ssh_principals` names 1 to 32 unix users, separated by spaces' }
  const badPrincipal = principals.find((p) => !UNIX_USER.test(p))
  if (badPrincipal !== undefined) return { problem: `\`@ssh_principals\`: \`${badPrincipal.slice(0, 64)}\` is not a unix user name` }
  const grant: SshGrant = { principals: [...new Set(principals)].sort(), extensions: [...DEFAULT_SSH_EXTENSIONS] }

  if (Object.hasOwn(annotations, 'ssh_force_command')) {
    const command = annotations.ssh_force_command
    // eslint-disable-next-line no-control-regex
    if (typeof command !== 'string' || command.length === 0 || command.length > 1_024 || /[\u0000-\u001f\u007f]/.test(command)) {
      return { problem: '`@ssh_force_command` is one line of at most 1024 printable characters' }
    }
    grant.forceCommand = command
  }
  if (Object.hasOwn(annotations, 'ssh_source_address')) {
    const value = annotations.ssh_source_address
    const entries = typeof value === 'string' ? value.split(',') : []
    const bad = entries.find((entry) => !isCidr(entry))
    if (entries.length === 0 || entries.length > 32 || bad !== undefined) {
      return { problem: `\`@ssh_source_address\`: ${bad === undefined ? 'a comma-separated list of addresses or CIDRs' : `\`${bad.slice(0, 64)}\` is not an address or CIDR`}` }
    }
    grant.sourceAddress = entries.join(',')
  }
  if (Object.hasOwn(annotations, 'ssh_extensions')) {
    const value = annotations.ssh_extensions
    const names = typeof value === 'string' ? value.split(' ').filter((e) => e !== '') : []
    const known = new Set<string>(SSH_EXTENSIONS)
    const bad = names.find((name) => !known.has(name))
    if (bad !== undefined) return { problem: `\`@ssh_extensions\`: \`${bad.slice(0, 64)}\` is not one of ${SSH_EXTENSIONS.join(', ')}` }
    // An empty value is allowed: no extension at all (no pty), e.g. for a forced command.
    grant.extensions = [...new Set(names)].sort()
  }
  return grant
}

/** `10.0.0.0/8`, `127.0.0.1`, `2001:db8::/32`: what sshd's source-address accepts, checked strictly. */
export function isCidr(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/')
  if (address === undefined || extra !== undefined) return false
  const family = isIP(address)
  if (family === 0 || address.includes('%')) return false
  if (prefix === undefined) return true
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix)) return false
  return Number(prefix) <= (family === 4 ? 32 : 128)
}
