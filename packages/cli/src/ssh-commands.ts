/**
 * `writ ssh cert` and `writ ssh login`: an agent mints an `ssh.login` capability token (policy decides the principals),
 * makes a fresh Ed25519 key pair with node:crypto, and exchanges the token once for a short-lived OpenSSH certificate
 * at `POST /ssh/certificates`; `login` then runs the system `ssh` with that key and certificate only, checking the host
 * against Writ's host CA (`@cert-authority` in a known_hosts file of its own, StrictHostKeyChecking yes).
 */
import { spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import { WritError, type IssuedSshCertificate } from '@writ/sdk'
import { ed25519PublicKey, encodeOpenSshPrivateKey } from '@writ/server'
import type { CliContext } from './cli-context.js'
import { formatJson, printable } from './output.js'
import { CommandExit } from './report-error.js'
import { locateServer, publicUrlOf } from './server-locator.js'
import { agentClientFor, reportPending, type AgentOptions } from './token-commands.js'

interface SshOptions extends AgentOptions {
  host: string
  principal?: string[]
  task: string
  purpose?: string
}

interface CertOptions extends SshOptions {
  out?: string
}

interface LoginOptions extends SshOptions {
  address?: string
  port?: string
  user?: string
}

export function registerSshCommands(program: Command, ctx: CliContext): void {
  const ssh = program.command('ssh').description('log in to a Writ host with a short-lived SSH certificate bound to the agent and its task')

  withAgentOptions(ssh.command('cert')
    .description('get an SSH certificate for a host: writes <out> (private key) and <out>-cert.pub')
    .requiredOption('--host <name>', 'the host\'s enrolled name')
    .option('--out <file>', 'where to write the private key (default ./writ-ssh-<host>)')
    .option('--json', 'print the certificate response as JSON'))
    .action(async (_options: CertOptions, command: Command) => {
      const options = command.optsWithGlobals<CertOptions>()
      const out = options.out ?? `writ-ssh-${options.host}`
      const issued = await obtainCertificate(options, ctx, command, out)
      if (options.json) return ctx.out(formatJson(issued))
      ctx.err(`certificate ${printable(issued.key_id)} (serial ${issued.serial}) for ${issued.principals.map(printable).join(', ')}; valid until ${new Date(issued.valid_before * 1000).toISOString()}`)
      ctx.out(`${out}-cert.pub`)
    })

  withAgentOptions(ssh.command('login')
    .description('get a certificate and run ssh to the host with it (the key and certificate are deleted afterwards)')
    .argument('<host>', 'the host\'s enrolled name')
    .argument('[command...]', 'a command to run instead of a shell, after --')
    .option('--address <address>', 'where to connect (default: the host name)')
    .option('--port <port>', 'the sshd port', '22')
    .option('--user <user>', 'the unix user to log in as (default: the first principal of the certificate)'))
    .action(async (host: string, remote: string[], _options: LoginOptions, command: Command) => {
      const options = command.optsWithGlobals<LoginOptions>()
      options.host = host
      if (options.user !== undefined && options.principal === undefined) options.principal = [options.user]
      const dir = mkdtempSync(join(tmpdir(), 'writ-ssh-'))
      try {
        const keyFile = join(dir, 'id_ed25519')
        const issued = await obtainCertificate(options, ctx, command, keyFile)
        const user = options.user ?? (issued.principals[0] ?? '').replace(/@[^@]*$/, '')
        const knownHosts = join(dir, 'known_hosts')
        const ca = await fetchJson(`${publicUrlOf(locateServer(options, ctx.env))}/ssh/ca`) as { host_ca?: unknown }
        if (typeof ca.host_ca !== 'string') throw new WritError('INTERNAL', 'the server published no SSH host CA')
        // Only hosts with a certificate from Writ's host CA for this name are trusted; nothing else is learnt or asked.
        writeFileSync(knownHosts, `@cert-authority * ${ca.host_ca}\n`)
        const args = [
          '-i', keyFile, '-o', `CertificateFile=${keyFile}-cert.pub`, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
          '-o', `HostKeyAlias=${host}`, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
          '-o', 'StrictHostKeyChecking=yes', '-o', 'PreferredAuthentications=publickey', '-p', String(options.port ?? '22'),
          `${user}@${options.address ?? host}`, ...remote,
        ]
        const code = await new Promise<number>((resolve, reject) => {
          const child = spawn('ssh', args, { stdio: 'inherit', env: { ...process.env, ...ctx.env } })
          child.once('error', reject)
          child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 129 : 1)))
        })
        if (code !== 0) throw new CommandExit(code)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
}

function withAgentOptions(command: Command): Command {
  return command
    .option('--principal <user...>', 'ask for these unix users only (policy decides which are granted)')
    .option('--task <id>', 'the task this login belongs to', 'ssh')
    .option('--purpose <text>', 'why the login is needed (shown to approvers)')
    .option('--agent <agent>', 'the agent\'s id or registered name (env WRIT_AGENT)')
    .option('--key <file>', 'the agent\'s private JWK (env WRIT_AGENT_KEY)')
    .option('--dpop [key-file]', 'bind the ssh.login token to a DPoP key (RFC 9449)')
}

/** Mints the ssh.login token, makes the key pair and exchanges them; writes `<keyFile>` (0600) and `<keyFile>-cert.pub`. */
async function obtainCertificate(options: SshOptions, ctx: CliContext, command: Command, keyFile: string): Promise<IssuedSshCertificate> {
  const agent = options.agent ?? ctx.env.WRIT_AGENT
  const key = options.key ?? ctx.env.WRIT_AGENT_KEY
  if (!agent || !key) command.error('error: name the agent and its key: --agent and --key (or WRIT_AGENT and WRIT_AGENT_KEY)')
  const agentOptions = { ...options, agent: agent as string, key: key as string }
  const client = await agentClientFor(agentOptions, ctx)
  const grant = await client.requestCapability({
    action: 'ssh.login', resource: `host:${options.host}`, audience: `urn:writ:host:${options.host}`, taskId: options.task,
    ...(options.purpose !== undefined ? { taskPurpose: options.purpose } : {}),
    ...(options.principal !== undefined ? { parameters: { principals: options.principal } } : {}),
  }).catch((error: unknown) => reportPending(error, agentOptions, ctx))
  const { privateKey } = generateKeyPairSync('ed25519')
  const url = `${publicUrlOf(locateServer(options, ctx.env))}/ssh/certificates`
  const headers = await client.authorizationHeaders(grant, { method: 'POST', url })
  const response = await fetch(url, {
    method: 'POST', headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ public_key: ed25519PublicKey(privateKey).line }), redirect: 'error', signal: AbortSignal.timeout(15_000),
  })
  const body: unknown = await response.json().catch(() => undefined)
  if (response.status !== 201) throw WritError.fromResponse(response.status, body)
  const issued = body as IssuedSshCertificate
  writeFileSync(keyFile, encodeOpenSshPrivateKey(privateKey, `writ:${options.host}`), { mode: 0o600 })
  chmodSync(keyFile, 0o600)
  writeFileSync(`${keyFile}-cert.pub`, `${issued.certificate}\n`)
  return issued
}

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(10_000) })
  const body: unknown = await response.json().catch(() => undefined)
  if (!response.ok) throw WritError.fromResponse(response.status, body)
  return body
}
