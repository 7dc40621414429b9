/**
 * `writ host enroll`, the host's side: make the host's client key, read (or make) its SSH host key, register at
 * `POST /hosts/enroll`, then as the host fetch its SSH host certificate, the user CA and the KRL, build the sudo
 * plugin, and write the host agent's config, the sshd drop-in and the sudo.conf block. Every changed file is printed;
 * `dryRun` prints the plan and touches nothing (no request either: enrolling spends the join token).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { join } from 'node:path'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { ResourceServerClient, REVOCATIONS_SCOPE, WritError } from '@writ/sdk'
import { buildSudoPlugin, DEFAULT_PLUGIN_PATH } from './build-plugin.js'
import { checkHostConfig, DEFAULT_AGENT_GROUP, DEFAULT_SOCKET_PATH, DEFAULT_STATE_DIR, type HostConfig } from './host-config.js'
import { installAtomically } from './krl-installer.js'
import { withoutWritPlugins, withWritPlugins } from './sudo-conf.js'

export interface HostPaths {
  /** /etc/writ: host.json, host-key.json, user-ca.pub, revoked-keys.krl, the host certificate. */
  etcDir: string
  /** /etc/ssh/sshd_config.d: gets writ.conf. */
  sshdConfigDir: string
  /** /etc/ssh/ssh_host_ed25519_key: the SSH host key whose public half is registered and certified. */
  sshHostKey: string
  sudoConf: string
  pluginPath: string
  socketPath: string
  stateDir: string
  agentGroup: string
}

export const DEFAULT_HOST_PATHS: HostPaths = {
  etcDir: '/etc/writ',
  sshdConfigDir: '/etc/ssh/sshd_config.d',
  sshHostKey: '/etc/ssh/ssh_host_ed25519_key',
  sudoConf: '/etc/sudo.conf',
  pluginPath: DEFAULT_PLUGIN_PATH,
  socketPath: DEFAULT_SOCKET_PATH,
  stateDir: DEFAULT_STATE_DIR,
  agentGroup: DEFAULT_AGENT_GROUP,
}

export interface EnrollOptions {
  server: string
  joinToken: string
  name?: string
  dryRun?: boolean
  paths?: Partial<HostPaths>
  /** Create the agent group when it is missing (default true). */
  createGroup?: boolean
  fetch?: typeof fetch
  out: (line: string) => void
}

export function hostFiles(paths: HostPaths) {
  return {
    config: join(paths.etcDir, 'host.json'),
    key: join(paths.etcDir, 'host-key.json'),
    userCa: join(paths.etcDir, 'user-ca.pub'),
    krl: join(paths.etcDir, 'revoked-keys.krl'),
    hostCertificate: join(paths.etcDir, 'ssh_host_ed25519_key-cert.pub'),
    sshdDropIn: join(paths.sshdConfigDir, 'writ.conf'),
  }
}

export function sshdDropIn(name: string, files: ReturnType<typeof hostFiles>, paths: HostPaths, withCertificate: boolean): string {
  return [
    `# Written by \`writ host enroll\` for host ${name}; \`writ host uninstall\` removes it.`,
    `TrustedUserCAKeys ${files.userCa}`,
    ...(withCertificate ? [`HostKey ${paths.sshHostKey}`, `HostCertificate ${files.hostCertificate}`] : []),
    `RevokedKeys ${files.krl}`,
    // A user certificate's principals are <unix user>@<host name>: one for this host opens no other host.
    `AuthorizedPrincipalsCommand /bin/echo %u@${name}`,
    'AuthorizedPrincipalsCommandUser nobody',
    '',
  ].join('\n')
}

export async function enrollThisHost(options: EnrollOptions): Promise<HostConfig> {
  const paths = { ...DEFAULT_HOST_PATHS, ...options.paths }
  const files = hostFiles(paths)
  const out = options.out
  const fetchImpl = options.fetch ?? fetch
  const server = options.server.replace(/\/$/, '')
  const changed = (file: string, what: string) => out(`${options.dryRun ? 'would write' : 'wrote'} ${file}  (${what})`)

  if (options.dryRun) {
    const name = options.name ?? '<name from the join token>'
    out(`dry run: nothing is sent and nothing is written. Enrolling at ${server} would change:`)
    changed(files.key, 'the host\'s Ed25519 client key, 0600')
    if (!existsSync(`${paths.sshHostKey}.pub`)) changed(paths.sshHostKey, 'a new SSH host key (ssh-keygen -t ed25519)')
    changed(files.hostCertificate, 'the SSH host certificate from Writ\'s host CA')
    changed(files.userCa, 'Writ\'s SSH user CA')
    changed(files.krl, 'the key revocation list')
    changed(paths.pluginPath, 'the sudo plugin, built with cc, 0644')
    changed(files.config, 'the host agent\'s configuration')
    changed(files.sshdDropIn, 'sshd settings:')
    for (const line of sshdDropIn(name, files, paths, true).trimEnd().split('\n')) out(`    ${line}`)
    changed(paths.sudoConf, 'sudo.conf, existing content kept; the block:')
    const block = withWritPlugins('', { pluginPath: paths.pluginPath, group: paths.agentGroup, socketPath: paths.socketPath })
    for (const line of block.trimEnd().split('\n')) out(`    ${line}`)
    return checkHostConfig(configFor({ issuer: server, host_id: 'dry-run', name: options.name ?? 'dry-run', paths, files }))
  }

  mkdirSync(paths.etcDir, { recursive: true, mode: 0o755 })
  // 1. The host's client key: private_key_jwt as the host, the key never leaves this file.
  const { privateKey } = generateKeyPairSync('ed25519')
  const exported = privateKey.export({ format: 'jwk' })
  const { d, ...publicMembers } = exported
  const kid = await calculateJwkThumbprint(publicMembers as JWK)
  const publicJwk: JsonWebKey = { ...publicMembers, kid, alg: 'EdDSA', use: 'sig' }
  const privateJwk: JsonWebKey = { ...publicJwk, d }

  // 2. The SSH host key: the existing one, or a new one.
  if (!existsSync(`${paths.sshHostKey}.pub`)) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', paths.sshHostKey])
    changed(paths.sshHostKey, 'a new SSH host key')
  }
  const sshHostPublicKey = readFileSync(`${paths.sshHostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')

  // 3. Enrollment: the join token is spent here.
  const response = await fetchImpl(`${server}/hosts/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ join_token: options.joinToken, ...(options.name ? { name: options.name } : {}), client_public_key: publicJwk, ssh_host_public_key: sshHostPublicKey }),
  })
  const enrolled = await response.json().catch(() => undefined) as Record<string, unknown> | undefined
  if (response.status !== 201) throw WritError.fromResponse(response.status, enrolled)
  const hostId = String(enrolled?.host_id)
  const name = String(enrolled?.name)
  const issuer = String(enrolled?.issuer)
  out(`enrolled host ${name} (${hostId}) at ${issuer}`)
  // Written first: the enrollment is spent, so the key must survive whatever fails next.
  writeFileSync(files.key, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600 })
  changed(files.key, 'the host\'s client key, 0600')

  // 4. As the host: host certificate, user CA, KRL. An endpoint that is not there is reported, not fatal.
  const client = new ResourceServerClient({ issuer, clientId: hostId, privateKey: privateJwk, fetch: fetchImpl })
  const bearer = async () => `Bearer ${(await client.apiToken(REVOCATIONS_SCOPE)).token}`
  let withCertificate = false
  try {
    const answer = await fetchImpl(`${issuer}/ssh/host-certificate`, {
      method: 'POST', headers: { authorization: await bearer(), 'content-type': 'application/json' }, body: JSON.stringify({ public_key: sshHostPublicKey }),
    })
    const body = await answer.json().catch(() => undefined) as { certificate?: string } | undefined
    if (answer.status !== 200 && answer.status !== 201) throw WritError.fromResponse(answer.status, body)
    writeFileSync(files.hostCertificate, `${body?.certificate}\n`, { mode: 0o644 })
    changed(files.hostCertificate, 'the SSH host certificate')
    withCertificate = true
  } catch (error) {
    out(`warning: no SSH host certificate (${(error as Error).message}); sshd keeps its plain host key`)
  }
  try {
    const answer = await fetchImpl(`${issuer}/ssh/ca`)
    const body = await answer.json() as { user_ca?: string }
    if (answer.status !== 200 || typeof body.user_ca !== 'string') throw new Error(`GET /ssh/ca answered ${answer.status}`)
    writeFileSync(files.userCa, `${body.user_ca}\n`, { mode: 0o644 })
    changed(files.userCa, 'Writ\'s SSH user CA')
  } catch (error) {
    out(`warning: no SSH user CA (${(error as Error).message}); sshd will accept no Writ certificate until it is written`)
    if (!existsSync(files.userCa)) writeFileSync(files.userCa, '', { mode: 0o644 })
  }
  await installKrl(fetchImpl, `${issuer}/ssh/krl`, files.krl, bearer, out)

  // 5. The sudo plugin, the config, sshd and sudo.
  buildSudoPlugin(paths.pluginPath)
  changed(paths.pluginPath, 'the sudo plugin')
  const config = checkHostConfig(configFor({ issuer, host_id: hostId, name, paths, files }))
  writeFileSync(files.config, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 })
  changed(files.config, 'the host agent\'s configuration')
  mkdirSync(paths.sshdConfigDir, { recursive: true, mode: 0o755 })
  writeFileSync(files.sshdDropIn, sshdDropIn(name, files, paths, withCertificate), { mode: 0o644 })
  changed(files.sshdDropIn, 'sshd settings (reload sshd to apply)')
  if (options.createGroup !== false) ensureGroup(paths.agentGroup, out)
  const sudoConf = existsSync(paths.sudoConf) ? readFileSync(paths.sudoConf, 'utf8') : ''
  installAtomically(paths.sudoConf, Buffer.from(withWritPlugins(sudoConf, { pluginPath: paths.pluginPath, group: paths.agentGroup, socketPath: paths.socketPath })))
  changed(paths.sudoConf, `the writ_approval and writ_audit plugins for group ${paths.agentGroup}`)
  out('next: start `writ host agent` (as root), then reload sshd')
  return config
}

function configFor(input: { issuer: string; host_id: string; name: string; paths: HostPaths; files: ReturnType<typeof hostFiles> }): HostConfig {
  return {
    issuer: input.issuer, host_id: input.host_id, name: input.name, audience: `urn:writ:host:${input.name}`,
    key_path: input.files.key, socket_path: input.paths.socketPath, state_dir: input.paths.stateDir,
    krl_path: input.files.krl, krl_interval_seconds: 30, agent_group: input.paths.agentGroup,
    ssh_host_public_key_path: `${input.paths.sshHostKey}.pub`, ssh_host_certificate_path: input.files.hostCertificate,
  }
}

async function installKrl(fetchImpl: typeof fetch, url: string, path: string, bearer: () => Promise<string>, out: (line: string) => void): Promise<void> {
  try {
    const answer = await fetchImpl(url, { headers: { authorization: await bearer() } })
    const body = Buffer.from(await answer.arrayBuffer())
    if (answer.status !== 200 || !body.subarray(0, 8).equals(Buffer.from('SSHKRL\n\0', 'latin1'))) throw new Error(`GET /ssh/krl answered ${answer.status}`)
    installAtomically(path, body)
    out(`wrote ${path}  (the key revocation list)`)
  } catch (error) {
    // sshd refuses every key when RevokedKeys names a missing file: an empty KRL until the host agent fetches one.
    if (!existsSync(path)) {
      execFileSync('ssh-keygen', ['-q', '-k', '-f', path])
      out(`wrote ${path}  (an empty key revocation list: ${(error as Error).message})`)
    }
  }
}

function ensureGroup(group: string, out: (line: string) => void): void {
  try {
    execFileSync('getent', ['group', group], { stdio: 'ignore' })
  } catch {
    execFileSync('groupadd', ['--system', group])
    out(`created group ${group} (its members are agents: their sudo needs a Writ token)`)
  }
}

/** `writ host uninstall`: removes the sudo.conf block first (sudo works without Writ again), then the sshd drop-in. */
export function uninstallThisHost(options: { paths?: Partial<HostPaths>; dryRun?: boolean; out: (line: string) => void }): void {
  const paths = { ...DEFAULT_HOST_PATHS, ...options.paths }
  const files = hostFiles(paths)
  const verb = options.dryRun ? 'would change' : 'changed'
  if (existsSync(paths.sudoConf)) {
    const before = readFileSync(paths.sudoConf, 'utf8')
    const after = withoutWritPlugins(before)
    if (after !== before) {
      if (!options.dryRun) installAtomically(paths.sudoConf, Buffer.from(after))
      options.out(`${verb} ${paths.sudoConf}  (removed the writ plugin block)`)
    }
  }
  if (existsSync(files.sshdDropIn)) {
    if (!options.dryRun) execFileSync('rm', ['-f', '--', files.sshdDropIn])
    options.out(`${options.dryRun ? 'would remove' : 'removed'} ${files.sshdDropIn}  (reload sshd to apply)`)
  }
  options.out(`left in place: ${paths.etcDir} (the host key; remove the host with \`writ host remove\` on the control plane), ${paths.stateDir} (unsent reports), ${paths.pluginPath}`)
}
