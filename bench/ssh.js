#!/usr/bin/env node
/**
 * bench/ssh: SSH user certificates issued per second over HTTP (an `ssh.login` capability token in, an OpenSSH
 * certificate out: token verification, revocation check, Ed25519 certificate signing, and the jti spend, certificate
 * row and audit record group-committed before each answer), beside the capability-token mints that produce those very
 * tokens, in the same run on the same server. Gate: certificates/s ≥ 0.8 × mints/s.
 *
 *   npm run bench:ssh                   # tsc -b && node bench/ssh.js
 *   node bench/ssh.js --quick           # smoke run: short phases
 *   node bench/ssh.js --concurrency=64 --rounds=5 --seconds=6 --cpu-prof
 *
 * One Writ server child process with one enrolled host (web-1) and a policy that grants `ssh.login` with
 * `@ssh_principals("deploy")`; this process is the load generator. Each round mints tokens for `seconds` (timed: the
 * mint rate), tops the pool up if the certificate phase could outrun it, then exchanges tokens for certificates for
 * `seconds` (timed: the certificate rate), each token once, with one of 64 pre-made public keys. The ratio is the
 * median over the rounds of certificates/mints within each round.
 * Progress goes to stderr; the last line of stdout is one JSON object with the figures.
 */
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { agentKey, AssertionSource } from './lib/assertions.js'
import { closedLoop, formPost } from './lib/load.js'
import { startWritServer } from './lib/writ-server.js'
import { killAll } from './lib/proc.js'
import { benchArgs, cpuProfileArgs, median, round2 } from './lib/options.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { args, quick, num } = benchArgs()
const options = {
  concurrency: num('concurrency', 64),
  rounds: num('rounds', quick ? 1 : 3),
  warmupSeconds: num('warmup', quick ? 1 : 3),
  seconds: num('seconds', quick ? 2 : 5),
}
const GATE = 0.8
const HOST = 'web-1'
const log = (message) => process.stderr.write(`[bench:ssh] ${message}\n`)
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const ACTION = { type: 'writ_action', action: 'ssh.login', resource: `host:${HOST}`, parameters: { principals: ['deploy'] } }

/** `ssh-ed25519 AAAA...` of a fresh key (RFC 8709 wire form), made with node:crypto. */
function sshEd25519Line() {
  const x = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x, 'base64url')
  const str = (b) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b])
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(x)]).toString('base64')}`
}

function jsonPost(url, path, token, body) {
  return `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body}`
}

const { server, dataDir, stop } = await startWritServer(root, { nodeArgs: cpuProfileArgs(root, args) })
process.on('exit', killAll)
try {
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()
  const call = async (base, path, body, headers = {}) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
    })
    if (response.status !== 201 && response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`)
    return response.json()
  }
  const admin = (path, body) => call(server.admin_url, path, body, { authorization: `Bearer ${adminToken}` })

  // The host, enrolled as a real one is (join token, POST /hosts/enroll), and the policy that grants the login.
  const join_ = await admin('/v1/hosts/join-tokens', {})
  const hostKey = agentKey('host-key')
  const { kid: _kid, alg: _alg, use: _use, ...clientPublicKey } = hostKey.publicJwk
  await call(server.public_url, '/hosts/enroll', { join_token: join_.token, name: HOST, client_public_key: clientPublicKey, ssh_host_public_key: sshEd25519Line() })
  await admin('/v1/policies', {
    files: {
      'default.cedar': '@id("default")\npermit (principal, action, resource);\n',
      'ssh.cedar': '@id("ssh-deploy")\n@ssh_principals("deploy")\npermit (principal, action == Writ::Action::"ssh.login", resource);\n',
    },
  })
  const { privateKey, publicJwk } = agentKey('bench-ssh-key')
  const agent = await admin('/v1/agents', {
    name: 'ssh-bench-bot', owner: 'bench@example.com', team: 'perf', platform: 'custom',
    capabilities: [{ id: 'ssh.login', risk_level: 'low' }],
    data_access: [{ resource: `host:${HOST}`, access_type: 'write', sensitivity: 'internal' }],
    jwks: { keys: [publicJwk] },
  })
  const source = new AssertionSource({ privateKey, kid: publicJwk.kid, clientId: agent.id, audience: server.issuer })
  const details = encodeURIComponent(JSON.stringify([ACTION]))
  const mintBody = (assertion) => `grant_type=client_credentials&client_id=${agent.id}&client_assertion_type=${encodeURIComponent(ASSERTION_TYPE)}`
    + `&client_assertion=${assertion}&authorization_details=${details}&resource=${encodeURIComponent(`urn:writ:host:${HOST}`)}&task_id=T-bench`
  const keys = Array.from({ length: 64 }, () => JSON.stringify({ public_key: sshEd25519Line() }))
  const url = new URL(server.public_url)

  // One of each by hand: the mint must give an ssh.login token for the host, the exchange a certificate, once.
  const minted = await fetch(`${server.public_url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: mintBody(source.next()) })
  const mintedBody = await minted.json()
  if (minted.status !== 200) throw new Error(`mint failed: ${minted.status} ${JSON.stringify(mintedBody)}`)
  const claims = JSON.parse(Buffer.from(mintedBody.access_token.split('.')[1], 'base64url').toString())
  log(`token: aud ${claims.aud}, parameters ${JSON.stringify(claims.authorization_details[0].parameters)}`)
  const exchange = () => fetch(`${server.public_url}/ssh/certificates`, {
    method: 'POST', headers: { authorization: `Bearer ${mintedBody.access_token}`, 'content-type': 'application/json' }, body: keys[0],
  })
  const first = await exchange()
  const certificate = await first.json()
  if (first.status !== 201) throw new Error(`exchange failed: ${first.status} ${JSON.stringify(certificate)}`)
  const again = await exchange()
  await again.arrayBuffer()
  if (again.status !== 401) throw new Error(`a spent token must be refused; got ${again.status}`)
  log(`certificate ok: ${certificate.key_id}, principals ${certificate.principals.join(',')}; a second exchange of the token is refused`)

  const pool = []
  let taken = 0
  const collect = (response) => {
    const match = /"access_token":"([^"]+)"/.exec(response.body.toString())
    if (match === null) return false
    pool.push(match[1])
    return true
  }
  const mintPhase = (seconds) => {
    source.clear()
    source.presign(Math.max(5_000, Math.ceil(6_000 * seconds)))
    return closedLoop({ url, concurrency: options.concurrency, seconds, check: collect, makeRequest: () => formPost(url, '/oauth/token', mintBody(source.next())) })
  }
  const certPhase = (seconds) => {
    let i = 0
    return closedLoop({
      url, concurrency: options.concurrency, seconds, check: (response) => response.body.includes('"certificate"'),
      makeRequest: () => {
        if (taken >= pool.length) throw new Error('the token pool ran dry; raise the top-up')
        return jsonPost(url, '/ssh/certificates', pool[taken++], keys[i++ % keys.length])
      },
    })
  }
  /** Mints (untimed) until `needed` unused tokens wait in the pool. */
  const topUp = async (needed) => {
    while (pool.length - taken < needed) {
      const extra = await mintPhase(Math.max(1, Math.ceil((needed - (pool.length - taken)) / 2_000)))
      if (extra.errors > 0) throw new Error(`top-up mint failed: ${JSON.stringify(extra)}`)
    }
  }
  // Tokens live 300 s: drop what a phase left over so none expires under the next.
  const drain = () => { pool.length = 0; taken = 0 }

  log(`warm-up ${options.warmupSeconds} s each`)
  const warmMint = await mintPhase(options.warmupSeconds)
  if (warmMint.errors > 0) throw new Error(`mint warm-up failed: ${JSON.stringify(warmMint)}`)
  await topUp(Math.ceil(warmMint.per_s * options.warmupSeconds * 2))
  const warmCert = await certPhase(options.warmupSeconds)
  if (warmCert.errors > 0) throw new Error(`certificate warm-up failed: ${JSON.stringify(warmCert)}`)
  let certRate = warmCert.per_s
  const rounds = []
  for (let r = 1; r <= options.rounds; r++) {
    drain()
    const mint = await mintPhase(options.seconds)
    await topUp(Math.ceil(Math.max(certRate, mint.per_s) * options.seconds * 1.6))
    const cert = await certPhase(options.seconds)
    certRate = cert.per_s
    log(`round ${r}: mint ${mint.per_s}/s (p99 ${mint.p99_ms} ms, errors ${mint.errors}), certificates ${cert.per_s}/s (p99 ${cert.p99_ms} ms, errors ${cert.errors})`)
    if (mint.errors > 0 || cert.errors > 0) throw new Error(`errors in round ${r}: ${JSON.stringify({ mint, cert })}`)
    rounds.push({ mint, cert, ratio: cert.per_s / mint.per_s })
  }
  const ratio = round2(median(rounds.map((r) => r.ratio)))
  const result = {
    bench: 'ssh',
    concurrency: options.concurrency,
    seconds: options.seconds,
    rounds: rounds.length,
    cpus: cpus().length,
    mint_per_s: median(rounds.map((r) => r.mint.per_s)),
    certificates_per_s: median(rounds.map((r) => r.cert.per_s)),
    mint_p99_ms: median(rounds.map((r) => r.mint.p99_ms)),
    certificate_p99_ms: median(rounds.map((r) => r.cert.p99_ms)),
    round_ratios: rounds.map((r) => round2(r.ratio)),
    ratio,
    gate: GATE,
    pass: ratio >= GATE,
  }
  log(`certificates/mints = ${ratio} (gate ≥ ${GATE}): ${result.pass ? 'pass' : 'FAIL'}`)
  process.stdout.write(`${JSON.stringify(result)}\n`)
} finally {
  await stop()
}
