import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLES_DIR, runWrit, startTestServer, type TestServer } from './test-cli.fixture.js'

const SRE = fileURLToPath(new URL('sre-responder.yaml', EXAMPLES_DIR))

// No --data-dir anywhere below: the profile is what finds the server, and the tests run from the repository, which is
// not the server's data directory.
describe('writ login, the profile, and logout', () => {
  let t: TestServer
  let home: string
  let adminToken: string
  const env = () => ({ HOME: home })
  const profileFile = () => join(home, '.config', 'writ', 'profile.json')
  const writ = (args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) => runWrit(args, { env: options.env ?? env(), ...(options.stdin === undefined ? {} : { stdin: options.stdin }) })

  beforeAll(async () => {
    t = await startTestServer()
    adminToken = readFileSync(join(t.dataDir, 'admin-token'), 'utf8').trim()
    home = mkdtempSync(join(tmpdir(), 'writ-home-'))
  })
  afterAll(async () => {
    await t.stop()
    t.remove()
    rmSync(home, { recursive: true, force: true })
  })

  it('refuses a wrong credential before storing anything, saying where it came from', async () => {
    const result = await writ(['login', '--server', t.server.adminUrl], { stdin: 'writ_admin_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n' })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`error: the admin credential from standard input was refused by \`${t.server.adminUrl}\` [ADMIN_UNAUTHENTICATED]`)
    expect(() => statSync(profileFile())).toThrow()
  })

  it('checks the credential read from standard input and stores the profile 0600 in a 0700 directory under ~/.config/writ', async () => {
    const result = await writ(['login', '--server', `${t.server.adminUrl}/`], { stdin: `${adminToken}\n` })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`logged in to ${t.server.adminUrl} as \`bootstrap\` (roles admin)`)
    expect(result.stdout).toContain('~/.config/writ/profile.json (mode 0600)')
    expect(result.stdout).not.toContain(adminToken)
    expect(statSync(profileFile()).mode & 0o777).toBe(0o600)
    expect(statSync(join(home, '.config', 'writ')).mode & 0o777).toBe(0o700)
    expect(JSON.parse(readFileSync(profileFile(), 'utf8'))).toEqual({ admin_url: t.server.adminUrl, public_url: t.server.publicUrl, admin_token: adminToken })
  })

  it('lets every command find the server through the profile, from a directory that is not the data directory', async () => {
    expect((await writ(['agent', 'keygen', '--out', join(home, 'sre')])).code).toBe(0)
    const registered = await writ(['agent', 'register', '--file', SRE, '--public-key', join(home, 'sre.pub.jwk'), '--json'])
    expect(registered.stderr).toBe('')
    expect(JSON.parse(registered.stdout)).toMatchObject({ name: 'sre-responder' })
    // The agent side goes to the public API the server reported at login.
    const grant = await writ(['token', 'request', '--agent', 'sre-responder', '--key', join(home, 'sre.jwk'), '--action', 'alerts.read', '--resource', 'host:web-1', '--task', 'T-1', '--json'])
    expect(grant.stderr).toBe('')
    expect(JSON.parse(grant.stdout)).toMatchObject({ token_type: 'Bearer' })
    const me = await writ(['admin', 'whoami', '--json'])
    expect(JSON.parse(me.stdout)).toMatchObject({ name: 'bootstrap', public_url: t.server.publicUrl })
  })

  it('ranks flags and WRIT_* variables above the profile, and names the source of a refused credential', async () => {
    const wrong = 'writ_admin_0123456789abcdef_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
    const fromEnv = await writ(['agent', 'list'], { env: { ...env(), WRIT_ADMIN_TOKEN: wrong } })
    expect(fromEnv.code).toBe(1)
    expect(fromEnv.stderr).toContain('the admin credential from WRIT_ADMIN_TOKEN was refused')
    const fromFlag = await writ(['agent', 'list', '--admin-token', wrong], { env: { ...env(), WRIT_ADMIN_TOKEN: adminToken } })
    expect(fromFlag.stderr).toContain('the admin credential from --admin-token was refused')
    // The profile's credential belongs to the profile's server; it is not sent to another address.
    const elsewhere = await writ(['agent', 'list'], { env: { ...env(), WRIT_ADMIN_URL: 'http://127.0.0.1:9' } })
    expect(elsewhere.stderr).toContain('error: no admin credential for `http://127.0.0.1:9`')
    const unreachable = await writ(['agent', 'list'], { env: { ...env(), WRIT_ADMIN_URL: 'http://127.0.0.1:9', WRIT_ADMIN_TOKEN: adminToken } })
    expect(unreachable.stderr).toContain('the admin API named by WRIT_ADMIN_URL (`http://127.0.0.1:9`) is unreachable')
  })

  it('stores --url as the public API and takes the credential from --admin-token', async () => {
    const result = await writ(['login', '--server', t.server.adminUrl, '--admin-token', adminToken, '--url', 'http://127.0.0.1:9', '--json'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ admin_url: t.server.adminUrl, public_url: 'http://127.0.0.1:9', admin: { name: 'bootstrap' } })
    expect(result.stdout).not.toContain(adminToken)
    expect(result.stderr).toContain('warning: the public API `http://127.0.0.1:9` is unreachable from here')
    const request = await writ(['token', 'request', '--agent', 'sre-responder', '--key', join(home, 'sre.jwk'), '--action', 'alerts.read', '--resource', 'host:web-1', '--task', 'T-1'])
    expect(request.code).toBe(1)
    expect(request.stderr).toContain('the public API named by the profile in `~/.config/writ/profile.json` (`http://127.0.0.1:9`) is unreachable')
    // Restore the discovered address for the tests that follow.
    expect((await writ(['login', '--server', t.server.adminUrl], { stdin: adminToken })).code).toBe(0)
  })

  it('takes the credential from WRIT_ADMIN_TOKEN when no flag gives it, and names it when it is refused', async () => {
    const dir = join(home, 'from-env')
    const refused = await writ(['login', '--server', t.server.adminUrl], { env: { WRIT_CONFIG_DIR: dir, WRIT_ADMIN_TOKEN: 'writ_admin_0123456789abcdef_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC' } })
    expect(refused.stderr).toContain('the admin credential from WRIT_ADMIN_TOKEN was refused')
    expect((await writ(['login', '--server', t.server.adminUrl], { env: { WRIT_CONFIG_DIR: dir, WRIT_ADMIN_TOKEN: adminToken } })).code).toBe(0)
  })

  it('follows XDG_CONFIG_HOME and WRIT_CONFIG_DIR', async () => {
    const xdg = join(home, 'xdg')
    expect((await writ(['login', '--server', t.server.adminUrl], { env: { HOME: home, XDG_CONFIG_HOME: xdg }, stdin: adminToken })).code).toBe(0)
    expect(statSync(join(xdg, 'writ', 'profile.json')).mode & 0o777).toBe(0o600)
    const dir = join(home, 'explicit')
    const result = await writ(['login', '--server', t.server.adminUrl, '--json'], { env: { HOME: home, XDG_CONFIG_HOME: xdg, WRIT_CONFIG_DIR: dir }, stdin: adminToken })
    expect(JSON.parse(result.stdout)).toMatchObject({ profile: join(dir, 'profile.json') })
    expect((await writ(['agent', 'list', '--json'], { env: { WRIT_CONFIG_DIR: dir } })).code).toBe(0)
  })

  it('says which profile names a server that is no longer reachable', async () => {
    const other = await startTestServer()
    const otherToken = readFileSync(join(other.dataDir, 'admin-token'), 'utf8').trim()
    const dir = join(home, 'stopped')
    expect((await writ(['login', '--server', other.server.adminUrl], { env: { WRIT_CONFIG_DIR: dir }, stdin: otherToken })).code).toBe(0)
    await other.stop()
    other.remove()
    const result = await writ(['agent', 'list'], { env: { WRIT_CONFIG_DIR: dir } })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`the admin API named by the profile in \`${join(dir, 'profile.json')}\` (\`${other.server.adminUrl}\`) is unreachable`)
  })

  it('logout removes the profile, and says so when there is none', async () => {
    const result = await writ(['logout'])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('removed the profile ~/.config/writ/profile.json')
    expect(() => statSync(profileFile())).toThrow()
    expect(JSON.parse((await writ(['logout', '--json'])).stdout)).toEqual({ removed: false, profile: profileFile() })
  })
})
