import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { createCapabilityVerifier, type WritAction } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { verifyChain } from '../audit/verify-chain.js'
import { action, decodePayload, engines, delegate, exchangeForCapability, mandate } from './delegation-test.fixture.js'
import { globMatches, uncovered } from './attenuation.js'

interface GrantBody { access_token: string; issued_token_type: string; token_type: string; expires_in: number }

describe.each(engines())('sub-agent delegation (grant → narrower grant) on $name', (engine) => {
  let dispose: () => Promise<void>
  let t: TestApp
  let a: TestAgent
  let b: TestAgent
  let c: TestAgent
  let d: TestAgent
  beforeEach(async () => {
    const opened = await engine.open()
    dispose = opened.dispose
    t = await createTestApp({ storage: opened.storage })
    a = await t.register(exampleDocument('deploy-bot'))
    b = await t.register({ ...exampleDocument('deploy-bot'), name: 'sub-bot' })
    c = await t.register({ ...exampleDocument('deploy-bot'), name: 'third-bot' })
    d = await t.register({ ...exampleDocument('deploy-bot'), name: 'fourth-bot' })
  })
  afterEach(async () => { await t.close(); await dispose() })

  const grantOf = async (response: Response): Promise<string> => {
    const text = await response.text()
    expect(response.status, text).toBe(200)
    return (JSON.parse(text) as GrantBody).access_token
  }

  it('narrows a grant for a sub-agent, whose capability names the whole chain, outermost the current actor', async () => {
    const root = await mandate(t, a, [action('tests.run', 'repo:acme/*'), action('deploy.run', 'service:*')])
    const response = await delegate(t, a, root.grant, 'sub-bot', [action('tests.run', 'repo:acme/billing', { parameters: { branch: 'main' } })])
    const body = await response.json() as GrantBody
    expect(body).toMatchObject({ issued_token_type: 'urn:writ:params:oauth:token-type:grant', token_type: 'N_A' })
    const child = decodePayload(body.access_token)
    expect(child).toMatchObject({
      sub: 'alice@example.com', may_act: { sub: b.agent.id }, act: { sub: a.agent.id }, parent: root.jti, task: { id: 'T-9' },
      authorization_details: [action('tests.run', 'repo:acme/billing', { parameters: { branch: 'main' } })],
    })
    expect(child.exp).toBe(decodePayload(root.grant).exp)
    const [created] = await t.storage.audit.tail(1)
    expect(created).toMatchObject({
      type: 'delegation.create', actor: { kind: 'agent', id: a.agent.id }, on_behalf_of: 'alice@example.com', token: { jti: child.jti },
      data: { kind: 'delegation', delegator: a.agent.id, delegate: b.agent.id, parent: root.jti, depth: 2, narrowed: ['entries', 'resource', 'parameters'] },
    })

    const capability = await exchangeForCapability(t, b, body.access_token, action('tests.run', 'repo:acme/billing', { parameters: { branch: 'main' }, actions: ['read'] }))
    const token = (await capability.json() as { access_token: string }).access_token
    const verifier = createCapabilityVerifier({ issuer: ISSUER, audience: 'urn:writ:resource-server', now: () => t.clock.nowSeconds(), jwks: await (await t.app.publicApp.request('/.well-known/jwks.json')).json() as never })
    const verified = await verifier.verify(token, { action: 'tests.run', resource: 'repo:acme/billing' })
    expect(verified.claims).toMatchObject({ sub: 'alice@example.com', client_id: b.agent.id, act: { sub: b.agent.id, act: { sub: a.agent.id } }, parent: child.jti })
    const [issued] = await t.storage.audit.tail(1)
    expect(issued).toMatchObject({ type: 'token.issue', actor: { id: b.agent.id }, on_behalf_of: 'alice@example.com', data: { delegation: { parent: child.jti, chain: [a.agent.id], depth: 2 } } })

    const shown = await (await t.admin('GET', `/v1/grants/${root.jti}`)).json() as { derived: Array<{ jti: string; act: string[]; depth: number }> }
    expect(shown.derived).toMatchObject([{ jti: child.jti, act: [a.agent.id], depth: 2 }])
    // The SDK's capability verifier refuses the child grant too.
    await expect(verifier.verify(body.access_token, { action: 'tests.run', resource: 'repo:acme/billing' })).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    expect(await verifyChain(t.storage.audit)).toMatchObject({ ok: true })
  })

  it('keeps the parent entries when the request names none, and a depth-3 chain nests act twice', async () => {
    const root = await mandate(t, a, [action('tests.run', 'repo:acme/*')])
    const toB = await grantOf(await delegateWithout(t, a, root.grant, b.agent.id))
    const toC = await grantOf(await delegateWithout(t, b, toB, 'third-bot'))
    expect(decodePayload(toC)).toMatchObject({ may_act: { sub: c.agent.id }, act: { sub: b.agent.id, act: { sub: a.agent.id } }, authorization_details: [action('tests.run', 'repo:acme/*')] })
    const capability = await exchangeForCapability(t, c, toC, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
    expect(decodePayload((await capability.json() as { access_token: string }).access_token).act).toEqual({ sub: c.agent.id, act: { sub: b.agent.id, act: { sub: a.agent.id } } })
  })

  describe('hostile battery (TX-, DEL-)', () => {
    it('refuses widening at any hop: action, resource, parameters, access type, expiry', async () => {
      const root = await mandate(t, a, [action('deploy.run', 'service:billing*', { parameters: { env: 'staging' }, actions: ['write'] })], { expiresIn: 600 })
      const base = { parameters: { env: 'staging' }, actions: ['write'] as ['write'] }
      const cases: Array<[WritAction[], Record<string, string>, string]> = [
        [[action('tests.run', 'service:billing', base)], {}, 'widened:action'],
        [[action('deploy.run', 'service:*', base)], {}, 'widened:resource'],
        [[action('deploy.run', '*', base)], {}, 'widened:resource'],
        [[action('deploy.run', 'service:billing', { actions: ['write'] })], {}, 'widened:parameters'],
        [[action('deploy.run', 'service:billing', { ...base, parameters: { env: 'prod' } })], {}, 'widened:parameters'],
        [[action('deploy.run', 'service:billing', { parameters: { env: 'staging' } })], {}, 'widened:access_type'],
        [[action('deploy.run', 'service:billing', base)], { expires_in: '601' }, 'widened:expiry'],
        [[action('deploy.run', 'service:billing', base)], { task_id: 'T-other' }, 'task_mismatch'],
      ]
      for (const [details, extra, reason] of cases) {
        const response = await delegate(t, a, root.grant, 'sub-bot', details, extra)
        expect(response.status, reason).toBe(400)
        expect((await response.json() as { reasons: string[] }).reasons).toEqual([reason])
      }
      // The second hop is held to the first hop's narrowing, not to the root.
      const toB = await grantOf(await delegate(t, a, root.grant, 'sub-bot', [action('deploy.run', 'service:billing-eu', base)], { expires_in: '300' }))
      const wider = await delegate(t, b, toB, 'third-bot', [action('deploy.run', 'service:billing*', base)])
      expect((await wider.json() as { reasons: string[] }).reasons).toEqual(['widened:resource'])
      const later = await delegate(t, b, toB, 'third-bot', [action('deploy.run', 'service:billing-eu', base)], { expires_in: '400' })
      expect((await later.json() as { reasons: string[] }).reasons).toEqual(['widened:expiry'])
      expect(await t.storage.grants.list({ kind: 'delegation', limit: 10 })).toHaveLength(1)
    })

    it('refuses a chain deeper than delegation.maxDepth, and loops', async () => {
      const root = await mandate(t, a, [action('tests.run', 'repo:acme/*')])
      const toB = await grantOf(await delegateWithout(t, a, root.grant, 'sub-bot'))
      const toC = await grantOf(await delegateWithout(t, b, toB, 'third-bot'))
      const toD = await delegateWithout(t, c, toC, 'fourth-bot')
      expect(toD.status).toBe(400)
      expect(await toD.json()).toMatchObject({ writ_code: 'DELEGATION_DEPTH_EXCEEDED', reasons: ['depth_exceeded'] })
      const back = await delegateWithout(t, b, toB, a.agent.id)
      expect(await back.json()).toMatchObject({ writ_code: 'DELEGATION_LOOP', reasons: ['delegation_loop'] })
      const self = await delegateWithout(t, b, toB, 'sub-bot')
      expect(await self.json()).toMatchObject({ writ_code: 'DELEGATION_LOOP' })
      void d
    })

    it('refuses a grant presented by an agent other than may_act, an unknown delegate and a capability token as the grant', async () => {
      const root = await mandate(t, a, [action('tests.run', 'repo:acme/*')])
      expect(await (await delegateWithout(t, b, root.grant, 'third-bot')).json()).toMatchObject({ writ_code: 'GRANT_INVALID', reasons: ['may_act_mismatch'] })
      expect(await (await delegateWithout(t, a, root.grant, 'nobody')).json()).toMatchObject({ writ_code: 'GRANT_INVALID', reasons: ['delegate_unknown'] })
      const capability = (await (await exchangeForCapability(t, a, root.grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))).json() as { access_token: string }).access_token
      expect(await (await delegateWithout(t, a, capability, 'sub-bot')).json()).toMatchObject({ writ_code: 'GRANT_INVALID', reasons: ['grant_malformed:typ_mismatch'] })
      // A forged grant: a capability token's claims re-signed is impossible without the key; a tampered payload fails the signature.
      const [h, p, s] = root.grant.split('.') as [string, string, string]
      const widened = Buffer.from(JSON.stringify({ ...decodePayload(root.grant), authorization_details: [action('tests.run', '*')] })).toString('base64url')
      expect(await (await delegateWithout(t, a, `${h}.${widened}.${s}`, 'sub-bot')).json()).toMatchObject({ reasons: ['grant_signature_invalid'] })
      void p
    })

    it('refuses everything below a suspended agent in the middle of the chain, and again once it is resumed', async () => {
      const root = await mandate(t, a, [action('tests.run', 'repo:acme/*')])
      const toB = await grantOf(await delegateWithout(t, a, root.grant, 'sub-bot'))
      const toC = await grantOf(await delegateWithout(t, b, toB, 'third-bot'))
      expect((await t.admin('POST', `/v1/agents/${b.agent.id}/suspend`)).status).toBe(200)
      const refused = await exchangeForCapability(t, c, toC, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
      expect(refused.status).toBe(403)
      expect(await refused.json()).toMatchObject({ writ_code: 'AGENT_NOT_ACTIVE', reasons: ['delegation_agent_not_active'] })
      expect((await t.admin('POST', `/v1/agents/${b.agent.id}/resume`)).status).toBe(200)
      expect((await exchangeForCapability(t, c, toC, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))).status).toBe(200)
    })

    it('cascades a revocation: revoking the root, or a middle grant, refuses everything derived from it', async () => {
      const root = await mandate(t, a, [action('tests.run', 'repo:acme/*')])
      const toB = await grantOf(await delegateWithout(t, a, root.grant, 'sub-bot'))
      const toC = await grantOf(await delegateWithout(t, b, toB, 'third-bot'))
      const other = await mandate(t, a, [action('tests.run', 'repo:acme/*')])
      const otherB = await grantOf(await delegateWithout(t, a, other.grant, 'sub-bot'))
      const middle = decodePayload(toB).jti as string
      expect((await t.admin('POST', `/v1/grants/${middle}/revoke`)).status).toBe(200)
      for (const [agent, grant] of [[c, toC], [b, toB]] as const) {
        const response = await exchangeForCapability(t, agent, grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))
        expect(await response.json()).toMatchObject({ writ_code: 'GRANT_REVOKED' })
      }
      // The root and the other tree are untouched.
      expect((await exchangeForCapability(t, a, root.grant, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))).status).toBe(200)
      expect((await exchangeForCapability(t, b, otherB, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))).status).toBe(200)
      expect((await t.admin('POST', `/v1/grants/${other.jti}/revoke`)).status).toBe(200)
      expect(await (await exchangeForCapability(t, b, otherB, action('tests.run', 'repo:acme/billing', { actions: ['read'] }))).json()).toMatchObject({ writ_code: 'GRANT_REVOKED' })
      expect(await (await delegateWithout(t, b, otherB, 'third-bot')).json()).toMatchObject({ writ_code: 'GRANT_REVOKED' })
    })

    it('refuses unsupported token types and an actor_token', async () => {
      const root = await mandate(t, a, [action('tests.run', 'repo:acme/*')])
      const wrongRequested = await exchangeForCapability(t, a, root.grant, action('tests.run', 'repo:acme/billing'), { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' })
      expect(await wrongRequested.json()).toMatchObject({ writ_code: 'TOKEN_TYPE_UNSUPPORTED' })
      const wrongSubject = await exchangeForCapability(t, a, root.grant, action('tests.run', 'repo:acme/billing'), { subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' })
      expect(await wrongSubject.json()).toMatchObject({ writ_code: 'TOKEN_TYPE_UNSUPPORTED' })
      const actor = await exchangeForCapability(t, a, root.grant, action('tests.run', 'repo:acme/billing'), { actor_token: 'x', actor_token_type: 'urn:ietf:params:oauth:token-type:jwt' })
      expect(await actor.json()).toMatchObject({ writ_code: 'REQUEST_INVALID' })
    })
  })

  it('DEL-06 over HTTP: along random chains, no child grant or token ever holds more than its parent', async () => {
    const agents = [a, b, c]
    const root = await mandate(t, a, [action('tests.run', 'repo:acme/*'), action('deploy.run', 'service:b*', { parameters: { env: 'prod' } })])
    const rootDetails = decodePayload(root.grant).authorization_details as WritAction[]
    const requested = fc.array(fc.record({
      action: fc.constantFrom('tests.run', 'deploy.run'),
      resource: fc.constantFrom('repo:acme/*', 'repo:acme/billing', 'repo:*', '*', 'service:b*', 'service:billing', 'service:*', 'service:bx*'),
      parameters: fc.constantFrom(undefined, { env: 'prod' }, { env: 'dev' }, { env: 'prod', ref: 'v1' }),
    }).map((e) => action(e.action, e.resource, e.parameters ? { parameters: e.parameters } : {})), { minLength: 1, maxLength: 2 })
    await fc.assert(fc.asyncProperty(fc.array(requested, { minLength: 1, maxLength: 2 }), async (hops) => {
      let grant = root.grant
      let details = rootDetails
      for (const [i, wanted] of hops.entries()) {
        const response = await delegate(t, agents[i] as TestAgent, grant, (agents[i + 1] as TestAgent).agent.id, wanted)
        if (response.status !== 200) {
          // Refused exactly when some entry is not covered.
          expect(wanted.some((w) => details.every((p) => uncovered(p, w) !== undefined))).toBe(true)
          return
        }
        const child = (await response.json() as GrantBody).access_token
        const childDetails = decodePayload(child).authorization_details as WritAction[]
        for (const entry of childDetails) expect(details.some((p) => uncovered(p, entry) === undefined && globMatches(p.resource, entry.resource))).toBe(true)
        expect(decodePayload(child).exp as number).toBeLessThanOrEqual(decodePayload(grant).exp as number)
        grant = child
        details = childDetails
      }
    }), { numRuns: 25 })
  })
})

function delegateWithout(t: TestApp, agent: TestAgent, grant: string, to: string): Promise<Response> {
  return delegate(t, agent, grant, to, undefined)
}
