#!/usr/bin/env node
/**
 * bench/sudo: `sudo true` through the Writ check (approval plugin → host agent: verify the token, match the argv,
 * spend the jti durably, spool the report; audit plugin → report completed) against plain NOPASSWD `sudo true`, in the
 * same run, alternating one of each, as two unique users (an agent in the agent group, and a user outside it).
 *
 *   npm run bench:sudo              # tsc -b && node bench/sudo.js   (as root: it edits /etc/sudo.conf, then restores it)
 *   node bench/sudo.js --runs=200
 *
 * Each Writ run gets a fresh token, minted before the timing starts. The host agent runs in this process, as
 * `writ host agent` would (same code), against a local fixture issuer (JWKS, revocation stream, /hosts/actions).
 * Both kinds of run are spawned directly as their user (setuid in the child, no runuser), so the timing is sudo's.
 * Gate: median(writ) ≤ 2 × median(plain). The last line of stdout is one JSON object.
 */
import { execFileSync, spawn } from 'node:child_process'
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { buildSudoPlugin, installAtomically, startHostAgent, withWritPlugins } from '@writ/host'

const args = new Map(process.argv.slice(2).map((a) => { const [k, ...v] = a.replace(/^--/, '').split('='); return [k, v.join('=') || 'true'] }))
const RUNS = Number(args.get('runs') ?? 100)
const WARMUP = 5
const GATE = 2
const HOST = 'bench-host'
const log = (m) => process.stderr.write(`[bench:sudo] ${m}\n`)
if (process.getuid() !== 0) throw new Error('bench/sudo runs as root (it installs the plugin in /etc/sudo.conf and restores it)')

// --- fixture issuer: JWKS, a revocation stream with heartbeats, /hosts/actions -----------------------------------------
const { publicKey, privateKey } = generateKeyPairSync('ed25519')
const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA', use: 'sig' }] }
const streams = new Set()
let reports = 0
const server = createServer((req, res) => {
  if (req.url === '/.well-known/jwks.json') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks))
  if (req.url === '/revocations/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(`event: heartbeat\ndata: ${JSON.stringify({ time: Math.floor(Date.now() / 1000), last_event_id: 0 })}\n\n`)
    streams.add(res)
    return res.on('close', () => streams.delete(res))
  }
  if (req.url === '/hosts/actions') {
    let body = ''
    req.on('data', (c) => { body += c })
    return req.on('end', () => { reports += JSON.parse(body).reports.length; res.writeHead(200).end('{"accepted":1}') })
  }
  res.writeHead(404).end()
})
const beat = setInterval(() => {
  for (const s of streams) s.write(`event: heartbeat\ndata: ${JSON.stringify({ time: Math.floor(Date.now() / 1000), last_event_id: 0 })}\n\n`)
}, 1000)
await new Promise((r) => server.listen(0, '127.0.0.1', r))
const issuer = `http://127.0.0.1:${server.address().port}`
const mint = (runas, argv) => {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({
    iss: issuer, sub: 'agent-1', client_id: 'agent-1', aud: `urn:writ:host:${HOST}`, iat: now, exp: now + 300, jti: randomUUID(),
    authorization_details: [{ type: 'writ_action', action: 'sudo.exec', resource: `host:${HOST}`, parameters: { runas, argv } }], task: { id: 'bench' },
  }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' }).sign(privateKey)
}

// --- the system: lock, users, sudoers, plugin, sudo.conf -------------------------------------------------------------------
mkdirSync('/run/lock', { recursive: true })
const lock = spawn('flock', ['-x', '/run/lock/writ-sudo-test.lock', '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] })
await new Promise((resolve) => lock.stdout.once('data', resolve))
const id = randomBytes(3).toString('hex')
const group = `wbg${id}`, agent = `wba${id}`, plain = `wbp${id}`
const dir = mkdtempSync(join(tmpdir(), 'writ-bench-sudo-'))
chmodSync(dir, 0o755)
const sudoersFile = `/etc/sudoers.d/writ-bench-${id}`
// As the tests do (packages/host/src/sudo-system.fixture.ts): a backup left by a killed run is the true original.
const BACKUP = '/run/lock/writ-sudo-test.sudo.conf'
if (existsSync(BACKUP)) installAtomically('/etc/sudo.conf', readFileSync(BACKUP))
const originalConf = readFileSync('/etc/sudo.conf')
installAtomically(BACKUP, originalConf, 0o600)
let hostAgent
const cleanup = async () => {
  installAtomically('/etc/sudo.conf', originalConf)
  rmSync(BACKUP, { force: true })
  for (const step of [() => rmSync(sudoersFile, { force: true }), () => execFileSync('userdel', [agent]), () => execFileSync('userdel', [plain]), () => execFileSync('groupdel', [group])]) {
    try { step() } catch { /* best effort */ }
  }
  await hostAgent?.close()
  clearInterval(beat)
  for (const s of streams) s.destroy()
  server.close()
  rmSync(dir, { recursive: true, force: true })
  lock.stdin.end()
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] }
const r2 = (x) => Math.round(x * 100) / 100

try {
  execFileSync('groupadd', [group])
  execFileSync('useradd', ['-M', '-s', '/bin/sh', '-G', group, agent])
  execFileSync('useradd', ['-M', '-s', '/bin/sh', plain])
  writeFileSync(sudoersFile, `${agent},${plain} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 })
  const ids = (user) => ({ uid: Number(execFileSync('id', ['-u', user]).toString()), gid: Number(execFileSync('id', ['-g', user]).toString()) })
  const socketPath = join(dir, 'run', 'host-agent.sock')
  const pluginPath = buildSudoPlugin(join(dir, 'writ_sudo.so'))
  installAtomically('/etc/sudo.conf', Buffer.from(withWritPlugins(originalConf.toString(), { pluginPath, group, socketPath })))
  hostAgent = await startHostAgent({
    config: { issuer, host_id: 'bench-host-id', name: HOST, audience: `urn:writ:host:${HOST}`, key_path: join(dir, 'k'), socket_path: socketPath, state_dir: join(dir, 'state'), agent_group: group },
    privateKey: generateKeyPairSync('ed25519').privateKey, apiToken: async () => 'bench', log: () => undefined,
  })
  await hostAgent.revocations.ready

  const run = (who, token) => new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn('sudo', ['-n', 'true'], { ...ids(who), env: { PATH: '/usr/bin:/bin', ...(token ? { WRIT_SUDO_TOKEN: token } : {}) }, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c) => { stderr += c })
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`sudo as ${who} exited ${code}: ${stderr}`))))
  })
  // A token is single use: each Writ run has its own, all minted before the timing.
  const tokens = await Promise.all(Array.from({ length: RUNS + WARMUP }, () => mint('root', ['true'])))
  const refused = await new Promise((resolve) => {
    const child = spawn('sudo', ['-n', 'true'], { ...ids(agent), env: { PATH: '/usr/bin:/bin' }, stdio: 'ignore' })
    child.on('close', resolve)
  })
  if (refused !== 1) throw new Error('the agent ran sudo without a token: the plugin is not in effect')
  log(`${RUNS} runs each, alternating (after ${WARMUP} warm-up runs each)`)
  const plainMs = []
  const writMs = []
  for (let i = 0; i < RUNS + WARMUP; i++) {
    const p = await run(plain)
    const w = await run(agent, tokens[i])
    if (i >= WARMUP) { plainMs.push(p); writMs.push(w) }
  }
  await hostAgent.reports.flush()
  const ratio = median(writMs) / median(plainMs)
  const summary = (xs) => ({ p50_ms: r2(median(xs)), p90_ms: r2(pct(xs, 90)), p99_ms: r2(pct(xs, 99)), mean_ms: r2(xs.reduce((a, b) => a + b, 0) / xs.length) })
  const result = {
    benchmark: 'sudo', runs: RUNS, plain: summary(plainMs), writ: summary(writMs), ratio: r2(ratio),
    gate: { ratio: `<= ${GATE}`, pass: ratio <= GATE }, reports_received: reports,
    node: process.version, cpus: cpus().length, loadavg: loadavg().map(r2), date: new Date().toISOString(),
  }
  await cleanup()
  process.stdout.write(`${JSON.stringify(result)}\n`)
  if (!result.gate.pass) process.exitCode = 1
} catch (error) {
  await cleanup()
  throw error
}
