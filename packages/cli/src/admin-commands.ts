/** `writ admin create|list|revoke|whoami`: admin credentials for people and automation. */
import { InvalidArgumentError, type Command } from 'commander'
import type { AdminView } from '@writ/server'
import type { CliContext } from './cli-context.js'
import { formatFields, formatJson, formatTable, printable } from './output.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'

// Built-in roles; any other name is a role that identity documents can name as approvers (`release-manager`).
const BUILT_IN_ROLES = ['admin', 'approver', 'auditor'] as const
const ROLE = /^[a-z0-9][a-z0-9._@-]{0,63}$/

interface CreatedAdmin {
  id: string
  name: string
  roles: string[]
  credential: string
}

export function registerAdminCommands(program: Command, ctx: CliContext): void {
  const admin = program.command('admin').description('manage admin credentials')
  const client = (command: Command) => adminClientFor(locateServer(command.optsWithGlobals<GlobalOptions>(), ctx.env))

  admin.command('create')
    .description('create an admin credential with one or more roles; the credential is shown once')
    .requiredOption('--name <name>', 'who or what will use it')
    .requiredOption('--role <role>', `a role: ${BUILT_IN_ROLES.join(', ')}, or one that identity documents name as approvers (e.g. release-manager); repeat for several`, collectRole, [])
    .option('--json', 'print the API response (with the credential) as JSON')
    .action(async (options: { name: string; role: string[]; json?: boolean }, command: Command) => {
      const created = await client(command).post<CreatedAdmin>('/v1/admins', { name: options.name, roles: options.role })
      if (options.json) return ctx.out(formatJson(created))
      ctx.out(`created admin \`${printable(created.name)}\` (id ${printable(created.id)}, roles ${printable(created.roles.join(', '))})`)
      // The one place this credential is printed: the server keeps only its hash.
      ctx.out('credential (shown once; store it now, e.g. as WRIT_ADMIN_TOKEN):')
      ctx.out(`  ${printable(created.credential)}`)
    })

  admin.command('list')
    .description('list admin credentials: id, name, roles, created, last used (to the minute), revoked')
    .option('--json', 'print the API response as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const body = await client(command).get<{ admins: AdminView[] }>('/v1/admins')
      ctx.out(options.json ? formatJson(body) : formatAdminList(body.admins))
    })

  admin.command('revoke <id>')
    .description('revoke an admin credential at once (see `writ admin list` for ids); the last active admin cannot be revoked')
    .option('--json', 'print the revoked credential as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const revoked = await client(command).post<AdminView>(`/v1/admins/${encodeURIComponent(id)}/revoke`)
      if (options.json) return ctx.out(formatJson(revoked))
      ctx.out(`revoked admin \`${printable(revoked.name)}\` (id ${printable(revoked.id)}); its credential is refused from now on`)
    })

  admin.command('whoami')
    .description('show which admin the current credential belongs to')
    .option('--json', 'print the API response as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const me = await client(command).get<{ id: string; name: string; roles: string[] }>('/v1/whoami')
      ctx.out(options.json ? formatJson(me) : formatFields([['name', me.name], ['id', me.id], ['roles', me.roles.join(', ')]]))
    })
}

function formatAdminList(admins: readonly AdminView[]): string {
  if (admins.length === 0) return '(no admin credentials)'
  const minute = (iso: string | null) => (iso === null ? '-' : iso.slice(0, 16).replace('T', ' '))
  return formatTable(['ID', 'NAME', 'ROLES', 'CREATED', 'LAST USED', 'REVOKED'], admins.map((a) => [
    a.id, a.name, a.roles.join(','), minute(a.created_at), a.last_used_at === null ? 'never' : minute(a.last_used_at),
    a.revoked_at === null ? '-' : `${minute(a.revoked_at)} by ${a.revoked_by ?? '?'}`,
  ]))
}

function collectRole(value: string, previous: string[]): string[] {
  if (!ROLE.test(value)) throw new InvalidArgumentError('a role is lowercase letters, digits and . _ @ - (e.g. release-manager)')
  return previous.includes(value) ? previous : [...previous, value]
}
