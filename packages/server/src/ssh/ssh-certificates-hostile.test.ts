/** The hostile battery of `POST /ssh/certificates` (docs/threats.md JWT- and SSH- rows), one row per case. */
import { createHmac, generateKeyPairSync, sign } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDpopKey, dpopRequestHeaders, TOKEN_TYPES } from '@writ/sdk'
import { ISSUER } from '../test-app.fixture.js'
import { createSshTestApp, newSshKey, type SshTestApp } from './ssh-test.fixture.js'

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const parts = (token: string) => token.split('.') as [string, string, string]

interface Row {
  name: string
  /** The request: token and public key (and extra headers). */
  request: (s: SshTestApp) => Promise<{ token: string; key?: string; headers?: Record<string, string>; body?: string; contentType?: string }>
  status: number
  code: string
  reason?: string
}

const ROWS: Row[] = [
  { name: 'a sudo.exec token for the same host (SSH-10)', status: 403, code: 'TOKEN_SCOPE_MISMATCH', reason: 'action_mismatch',
    request: async (s) => ({ token: (await s.capability({ action: 'sudo.exec', parameters: { runas: 'root', argv: ['true'] } })).token }) },
  { name: 'an ssh.login token for another audience', status: 401, code: 'TOKEN_INVALID',
    request: async (s) => ({ token: (await s.capability({ aud: 'https://api.example' })).token }) },
  { name: 'an ssh.login token whose audience names another host', status: 401, code: 'TOKEN_INVALID',
    request: async (s) => ({ token: (await s.capability({ aud: 'urn:writ:host:db-9' })).token }) },
  { name: 'a resource that is not a host', status: 401, code: 'TOKEN_INVALID',
    request: async (s) => ({ token: (await s.capability({ resource: 'service:billing', aud: 'urn:writ:host:billing' })).token }) },
  { name: 'an expired token', status: 401, code: 'TOKEN_EXPIRED',
    request: async (s) => ({ token: (await s.capability({ iat: s.t.clock.nowSeconds() - 400, lifetime: 300 })).token }) },
  { name: 'a token issued in the future', status: 401, code: 'TOKEN_INVALID', reason: 'iat_in_future',
    request: async (s) => ({ token: (await s.capability({ iat: s.t.clock.nowSeconds() + 600 })).token }) },
  { name: 'a token living longer than the profile allows', status: 401, code: 'TOKEN_INVALID', reason: 'lifetime_too_long',
    request: async (s) => ({ token: (await s.capability({ lifetime: 3_600 })).token }) },
  { name: 'alg none', status: 401, code: 'TOKEN_INVALID',
    request: async (s) => { const [, p] = parts((await s.capability()).token); return { token: `${b64({ alg: 'none', typ: 'at+jwt' })}.${p}.` } } },
  { name: 'HS256 signed with the public key as secret (algorithm confusion)', status: 401, code: 'TOKEN_INVALID',
    request: async (s) => {
      const [h, p] = parts((await s.capability()).token)
      const header = { ...JSON.parse(Buffer.from(h, 'base64url').toString()), alg: 'HS256' }
      const input = `${b64(header)}.${p}`
      const secret = JSON.stringify(s.t.app.keys.jwks().keys[0])
      return { token: `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}` }
    } },
  { name: 'signed by a key that is not Writ\'s (same kid)', status: 401, code: 'TOKEN_INVALID', reason: 'token_signature_invalid',
    request: async (s) => {
      const [h, p] = parts((await s.capability()).token)
      const attacker = generateKeyPairSync('ed25519').privateKey
      return { token: `${h}.${p}.${sign(null, Buffer.from(`${h}.${p}`), attacker).toString('base64url')}` }
    } },
  { name: 'an unknown kid', status: 401, code: 'TOKEN_INVALID', reason: 'token_key_unknown',
    request: async (s) => {
      const [h, p, sig] = parts((await s.capability()).token)
      return { token: `${b64({ ...JSON.parse(Buffer.from(h, 'base64url').toString()), kid: 'nope' })}.${p}.${sig}` }
    } },
  { name: 'a tampered payload (another host)', status: 401, code: 'TOKEN_INVALID',
    request: async (s) => {
      const { token, claims } = await s.capability({ resource: 'host:db-9' })
      const [h, , sig] = parts(token)
      return { token: `${h}.${b64({ ...claims, aud: 'urn:writ:host:web-1', authorization_details: [{ ...claims.authorization_details[0], resource: 'host:web-1' }] })}.${sig}` }
    } },
  { name: 'a grant typ', status: 401, code: 'TOKEN_INVALID',
    request: async (s) => {
      const { claims } = await s.capability()
      return { token: await s.t.app.keys.sign(TOKEN_TYPES.grant, claims as unknown as Record<string, unknown>).jws }
    } },
  { name: 'an oversized token', status: 401, code: 'TOKEN_TOO_LARGE',
    request: async (s) => ({ token: (await s.capability({ parameters: { principals: ['deploy'], pad: 'x'.repeat(9_000) } })).token }) },
  { name: 'Writ\'s API token (scope writ:revocations) instead of a capability', status: 401, code: 'TOKEN_INVALID',
    request: async (s) => ({ token: await (await s.addHost(`api-${Math.random().toString(36).slice(2, 6)}`)).apiToken() }) },
  { name: 'a revoked token', status: 401, code: 'TOKEN_REVOKED',
    request: async (s) => {
      const { token, claims } = await s.capability()
      await s.t.admin('POST', '/v1/revocations', { kind: 'token', jti: claims.jti, reason: 'hostile' })
      await s.t.app.revocationFeed.catchUp()
      return { token }
    } },
  { name: 'a revoked task', status: 401, code: 'TOKEN_REVOKED',
    request: async (s) => {
      const { token } = await s.capability({ task: 'T-hostile-revoked' })
      await s.t.admin('POST', '/v1/revocations', { kind: 'task', task_id: 'T-hostile-revoked', reason: 'hostile' })
      await s.t.app.revocationFeed.catchUp()
      return { token }
    } },
  { name: 'no principals (SSH-07)', status: 403, code: 'TOKEN_SCOPE_MISMATCH', reason: 'principals_invalid',
    request: async (s) => ({ token: (await s.capability({ parameters: { principals: [] } })).token }) },
  { name: 'no parameters at all', status: 403, code: 'TOKEN_SCOPE_MISMATCH', reason: 'principals_invalid',
    request: async (s) => ({ token: (await s.capability({ parameters: {} })).token }) },
  { name: 'a principal that is not a unix user name (injection)', status: 403, code: 'TOKEN_SCOPE_MISMATCH', reason: 'principals_invalid',
    request: async (s) => ({ token: (await s.capability({ parameters: { principals: ['deploy@db-1'] } })).token }) },
  { name: 'an unknown extension', status: 403, code: 'TOKEN_SCOPE_MISMATCH', reason: 'extensions_invalid',
    request: async (s) => ({ token: (await s.capability({ parameters: { principals: ['deploy'], extensions: ['permit-everything'] } })).token }) },
  { name: 'a host that is not enrolled', status: 404, code: 'HOST_NOT_FOUND',
    request: async (s) => ({ token: (await s.capability({ resource: 'host:ghost' })).token }) },
  { name: 'a removed host', status: 404, code: 'HOST_NOT_FOUND',
    request: async (s) => { await s.removeHost('gone-1'); return { token: (await s.capability({ resource: 'host:gone-1' })).token } } },
  { name: 'a DPoP-bound token sent as Bearer', status: 401, code: 'TOKEN_INVALID', reason: 'dpop_bound_token_as_bearer',
    request: async (s) => ({ token: (await s.capability({ cnf: { jkt: (await createDpopKey()).jkt } })).token }) },
  { name: 'a DPoP-bound token without a proof', status: 400, code: 'DPOP_PROOF_INVALID', reason: 'dpop_proof_missing',
    request: async (s) => {
      const { token } = await s.capability({ cnf: { jkt: (await createDpopKey()).jkt } })
      return { token, headers: { authorization: `DPoP ${token}` } }
    } },
  { name: 'a DPoP-bound token with a proof by another key', status: 400, code: 'DPOP_PROOF_INVALID', reason: 'dpop_key_mismatch',
    request: async (s) => {
      const { token } = await s.capability({ cnf: { jkt: (await createDpopKey()).jkt } })
      return { token, headers: await dpopRequestHeaders(await createDpopKey(), token, { method: 'POST', url: `${ISSUER}/ssh/certificates`, now: () => s.t.clock.nowSeconds() }) }
    } },
  { name: 'a DPoP proof for another URL', status: 400, code: 'DPOP_PROOF_INVALID', reason: 'dpop_htu_mismatch',
    request: async (s) => {
      const key = await createDpopKey()
      const { token } = await s.capability({ cnf: { jkt: key.jkt } })
      return { token, headers: await dpopRequestHeaders(key, token, { method: 'POST', url: `${ISSUER}/oauth/token`, now: () => s.t.clock.nowSeconds() }) }
    } },
  { name: 'no Authorization header', status: 401, code: 'TOKEN_INVALID', reason: 'authorization_missing',
    request: async () => ({ token: '', headers: { authorization: '' } }) },
  { name: 'a garbage public key', status: 400, code: 'REQUEST_INVALID', reason: 'public_key_invalid',
    request: async (s) => ({ token: (await s.capability()).token, key: 'ssh-ed25519 AAAAnotbase64!!' }) },
  { name: 'an ed25519 blob of the wrong length', status: 400, code: 'REQUEST_INVALID', reason: 'public_key_invalid',
    request: async (s) => ({ token: (await s.capability()).token, key: `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 31]), Buffer.alloc(31)]).toString('base64')}` }) },
  { name: 'a key blob whose type differs from the line', status: 400, code: 'REQUEST_INVALID', reason: 'public_key_invalid',
    request: async (s) => ({ token: (await s.capability()).token, key: `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32)]).toString('base64')}` }) },
  { name: 'trailing bytes after the key', status: 400, code: 'REQUEST_INVALID', reason: 'public_key_invalid',
    request: async (s) => {
      const blob = Buffer.from(newSshKey().line.split(' ')[1] as string, 'base64')
      return { token: (await s.capability()).token, key: `ssh-ed25519 ${Buffer.concat([blob, Buffer.from([0])]).toString('base64')}` }
    } },
  { name: 'an RSA key', status: 400, code: 'REQUEST_INVALID', reason: 'public_key_invalid',
    request: async (s) => {
      const file = join(s.dir, `rsa-${Math.random().toString(36).slice(2)}`)
      execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', file])
      return { token: (await s.capability()).token, key: execFileSync('cat', [`${file}.pub`]).toString().trim() }
    } },
  { name: 'a certificate in place of a key', status: 400, code: 'REQUEST_INVALID', reason: 'public_key_invalid',
    request: async (s) => {
      const issued = await (await s.exchange((await s.capability()).token, newSshKey().line)).json() as { certificate: string }
      return { token: (await s.capability()).token, key: issued.certificate }
    } },
  { name: 'an oversized key line', status: 400, code: 'REQUEST_INVALID', reason: 'public_key_invalid',
    request: async (s) => ({ token: (await s.capability()).token, key: `ssh-ed25519 ${'A'.repeat(2_000)}` }) },
  { name: 'a public key that is not a string', status: 400, code: 'REQUEST_INVALID',
    request: async (s) => ({ token: (await s.capability()).token, body: JSON.stringify({ public_key: { kty: 'OKP' } }) }) },
  { name: 'a body that is not JSON', status: 400, code: 'REQUEST_INVALID',
    request: async (s) => ({ token: (await s.capability()).token, body: '{"public_key":' }) },
  { name: 'a body of another content type', status: 415, code: 'CONTENT_TYPE_UNSUPPORTED',
    request: async (s) => ({ token: (await s.capability()).token, contentType: 'text/plain' }) },
  { name: 'an oversized body', status: 413, code: 'REQUEST_TOO_LARGE',
    request: async (s) => ({ token: (await s.capability()).token, body: JSON.stringify({ public_key: newSshKey().line, pad: 'x'.repeat(10_000) }) }) },
]

describe('POST /ssh/certificates refuses hostile input', () => {
  let s: SshTestApp
  beforeAll(async () => {
    s = await createSshTestApp()
    await s.addHost('web-1')
    await s.addHost('gone-1')
  })
  afterAll(() => s.close())

  it.each(ROWS)('refuses $name', async (row) => {
    const r = await row.request(s)
    const response = await s.t.app.publicApp.request('/ssh/certificates', {
      method: 'POST',
      headers: { authorization: `Bearer ${r.token}`, 'content-type': r.contentType ?? 'application/json', ...r.headers },
      body: r.body ?? JSON.stringify({ public_key: r.key ?? newSshKey().line }),
    })
    const body = await response.json() as { code: string; reasons?: string[]; detail?: string }
    expect({ status: response.status, code: body.code }).toEqual({ status: row.status, code: row.code })
    if (row.reason) expect(body.reasons).toContain(row.reason)
    // Never echo the token.
    if (r.token.length > 20) expect(JSON.stringify(body)).not.toContain(r.token)
  })

  it('accepts a DPoP-bound token with its proof once, and refuses the replayed proof', async () => {
    const key = await createDpopKey()
    const { token } = await s.capability({ cnf: { jkt: key.jkt } })
    const headers = await dpopRequestHeaders(key, token, { method: 'POST', url: `${ISSUER}/ssh/certificates`, now: () => s.t.clock.nowSeconds() })
    expect((await s.exchange(token, newSshKey().line, headers)).status).toBe(201)
    const { token: second } = await s.capability({ cnf: { jkt: key.jkt } })
    // Same proof (its ath names the first token): refused before anything is spent.
    const reused = await s.exchange(second, newSshKey().line, { authorization: `DPoP ${second}`, dpop: headers.dpop })
    expect(await reused.json()).toMatchObject({ code: 'DPOP_PROOF_INVALID', reasons: ['dpop_ath_mismatch'] })
    const replay = await dpopRequestHeaders(key, second, { method: 'POST', url: `${ISSUER}/ssh/certificates`, now: () => s.t.clock.nowSeconds() })
    expect((await s.exchange(second, newSshKey().line, replay)).status).toBe(201)
    const { token: third } = await s.capability({ cnf: { jkt: key.jkt } })
    const proof = await dpopRequestHeaders(key, third, { method: 'POST', url: `${ISSUER}/ssh/certificates`, now: () => s.t.clock.nowSeconds() })
    // The token's jti and the proof's are spent with the certificate: two requests carrying both get one certificate.
    const statuses = await Promise.all([s.exchange(third, newSshKey().line, proof), s.exchange(third, newSshKey().line, proof)].map((p) => p.then((r) => r.status)))
    expect(statuses.filter((x) => x === 201)).toHaveLength(1)
    expect(statuses.filter((x) => x === 400 || x === 401)).toHaveLength(1)
  })
})
