/** `writ login` and `writ logout`: keep one server's addresses and a checked admin credential as the user's profile. */
import type { Command } from 'commander'
import { WritError } from '@writ/sdk'
import { AdminClient } from './admin-client.js'
import type { CliContext } from './cli-context.js'
import { displayPath, profileFileOf, removeProfile, writeProfile } from './cli-profile.js'
import { formatFields, formatJson, printable } from './output.js'
import { discoverIssuer, isLoopback, type GlobalOptions } from './server-locator.js'

interface LoginOptions extends GlobalOptions { server: string; json?: boolean }

interface WhoAmI {
  id: string
  name: string
  roles: string[]
  /** Servers from this version on report it; older ones need --url. */
  public_url?: string
}

export function registerLoginCommands(program: Command, ctx: CliContext): void {
  program.command('login')
    .description('check an admin credential against a server and keep it, with the server\'s addresses, as your profile')
    .requiredOption('--server <admin-url>', 'the server\'s admin API, e.g. https://writ-admin.example.com')
    .option('--json', 'print the stored profile (without the credential) as JSON')
    .addHelpText('after', [
      '',
      'The credential comes from --admin-token, else WRIT_ADMIN_TOKEN, else standard input (typed without echo, or piped).',
      'The public API is --url, or else the address the server reports. The profile is $WRIT_CONFIG_DIR/profile.json,',
      '$XDG_CONFIG_HOME/writ/profile.json or ~/.config/writ/profile.json (mode 0600); commands use it unless flags,',
      'WRIT_* variables or --data-dir name another server.',
    ].join('\n'))
    .action(async (_options: unknown, command: Command) => {
      const options = command.optsWithGlobals<LoginOptions>()
      const adminUrl = httpUrl(options.server, '--server')
      const fromEnv = ctx.env.WRIT_ADMIN_TOKEN === '' ? undefined : ctx.env.WRIT_ADMIN_TOKEN
      const [given, source] = options.adminToken !== undefined ? [options.adminToken, '--admin-token']
        : fromEnv !== undefined ? [fromEnv, 'WRIT_ADMIN_TOKEN'] : [undefined, 'standard input']
      const credential = (given ?? await ctx.readSecret('admin credential (not echoed): ')).trim()
      if (credential === '') throw new WritError('ADMIN_UNAUTHENTICATED', 'no admin credential given: pass --admin-token, set WRIT_ADMIN_TOKEN, or enter it on standard input')
      const client = new AdminClient(adminUrl, credential, fetch, { url: '--server', credential: source })
      // Checked before it is stored: a profile that cannot work would only fail later, further from the cause.
      const me = await client.get<WhoAmI>('/v1/whoami')
      const reported = typeof me.public_url === 'string' ? me.public_url : undefined
      if (options.url === undefined && reported === undefined) {
        throw new WritError('CONFIG_INVALID', `the server at \`${client.baseUrl}\` does not report its public API; pass --url <public url>`)
      }
      const publicUrl = httpUrl(options.url ?? reported as string, options.url === undefined ? 'the server\'s public_url' : '--url').replace(/\/+$/, '')
      const file = writeProfile(ctx.env, { admin_url: client.baseUrl, public_url: publicUrl, admin_token: credential })

      if (!isLoopback(client.baseUrl) && client.baseUrl.startsWith('http:')) {
        ctx.err(`warning: \`${printable(client.baseUrl)}\` is not https: the credential crosses the network in clear text`)
      }
      // Agents' token requests through this profile go to the public API; say now if it cannot be reached from here.
      await discoverIssuer(publicUrl).catch(() => {
        ctx.err(`warning: the public API \`${printable(publicUrl)}\` is unreachable from here; pass --url if agents use another address`)
      })
      const admin = { id: me.id, name: me.name, roles: me.roles }
      if (options.json) return ctx.out(formatJson({ profile: file, admin_url: client.baseUrl, public_url: publicUrl, admin }))
      ctx.out(`logged in to ${printable(client.baseUrl)} as \`${printable(me.name)}\` (roles ${printable(me.roles.join(', '))})`)
      ctx.out(formatFields([['profile', `${displayPath(file, ctx.env)} (mode 0600)`], ['admin API', client.baseUrl], ['public API', publicUrl]], '  '))
    })

  program.command('logout')
    .description('remove your profile (the credential stays valid on the server: `writ admin revoke` ends it)')
    .option('--json', 'print what was removed as JSON')
    .action((options: { json?: boolean }) => {
      const expected = profileFileOf(ctx.env)
      const removed = removeProfile(ctx.env)
      if (options.json) return ctx.out(formatJson({ removed: removed !== undefined, profile: removed ?? expected ?? null }))
      ctx.out(removed === undefined
        ? `no profile to remove${expected === undefined ? '' : ` (looked for ${printable(displayPath(expected, ctx.env))})`}`
        : `removed the profile ${printable(displayPath(removed, ctx.env))}`)
    })
}

function httpUrl(value: string, what: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    // Not echoed: a credential pasted into the wrong place would otherwise end up in the terminal.
    throw new WritError('CONFIG_INVALID', `${what} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WritError('CONFIG_INVALID', `${what} must be an http or https URL`)
  if (url.username !== '' || url.password !== '') throw new WritError('CONFIG_INVALID', `${what} must not carry a user name or password`)
  return value.replace(/\/+$/, '')
}
