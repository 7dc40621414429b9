/** The SDK's agent client against the real token endpoint: exchangeGrant, delegateGrant and exchangeHumanToken. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createAgentClient, WritError, type AgentClient } from '@writ/sdk'
import { createTestApp, exampleDocument, ISSUER, type TestAgent, type TestApp } from '../test-app.fixture.js'
import { action, decodePayload, mandate } from './delegation-test.fixture.js'
import type { HumanTokenVerifier } from './human-token-verifier.js'

// A stand-in issuer for the client test only; exchange-human-token.test.ts verifies real signed tokens over HTTP.
const humanTokens: HumanTokenVerifier = {
  async verify(token) {
    if (token !== 'human-token-of-alice') throw new WritError('GRANT_INVALID', 'not a human token', { reasons: ['human_token_invalid'] })
    return { issuer: 'https://idp.example', user: 'alice@example.com', groups: ['sre'] }
  },
}

describe('agent client delegation methods', () => {
  let t: TestApp
  let a: TestAgent
  let b: TestAgent
  let approving: Promise<unknown> = Promise.resolve()
  const clientFor = (agent: TestAgent): AgentClient => createAgentClient({
    issuer: ISSUER, agent: agent.agent.id, privateKey: agent.privateJwk, now: () => t.clock.nowSeconds(),
    // No real waiting: a poll interval passes on the test clock once the approval is in.
    sleep: async (ms) => { await approving; t.clock.advance(ms) },
    fetch: (input, init) => Promise.resolve(t.app.publicApp.request(String(input), init)),
  })
  beforeEach(async () => {
    t = await createTestApp({ humanTokens })
    a = await t.register(exampleDocument('deploy-bot'))
    b = await t.register({ ...exampleDocument('deploy-bot'), name: 'sub-bot' })
  })
  afterEach(async () => t.close())

  it('takes a human token to a grant, narrows it for a sub-agent, and the sub-agent gets a capability', async () => {
    const human = await clientFor(a).exchangeHumanToken({
      subjectToken: 'human-token-of-alice', authorizationDetails: [action('tests.run', 'repo:acme/billing', { actions: ['read'] })], taskId: 'T-5',
    })
    expect(human.expiresIn).toBe(3_600)
    expect(decodePayload(human.grant)).toMatchObject({ sub: 'alice@example.com', may_act: { sub: a.agent.id } })

    const sub = await clientFor(a).delegateGrant({ grant: human.grant, to: 'sub-bot', expiresIn: 600 })
    expect(sub).toMatchObject({ expiresIn: 600, authorizationDetails: [action('tests.run', 'repo:acme/billing', { actions: ['read'] })] })

    const capability = await clientFor(b).exchangeGrant({ grant: sub.grant, action: 'tests.run', resource: 'repo:acme/billing', access: 'read', stepId: '1' })
    expect(capability.tokenType).toBe('Bearer')
    expect(decodePayload(capability.accessToken)).toMatchObject({
      sub: 'alice@example.com', client_id: b.agent.id, act: { sub: b.agent.id, act: { sub: a.agent.id } }, task: { id: 'T-5', step: '1' },
    })
  })

  it('throws the server\'s WritError for a refused exchange, and waits for a human on a held one', async () => {
    const { grant } = await mandate(t, a, [action('deploy.run', 'service:billing')])
    await expect(clientFor(a).exchangeGrant({ grant, action: 'deploy.run', resource: 'service:other' })).rejects.toMatchObject({ code: 'GRANT_SCOPE_EXCEEDED' })
    await expect(clientFor(b).delegateGrant({ grant, to: a.agent.id })).rejects.toMatchObject({ code: 'GRANT_INVALID' })

    const approver = (await (await t.admin('POST', '/v1/admins', { name: 'rm@example.com', roles: ['release-manager'] })).json() as { credential: string }).credential
    const waiting = clientFor(a).exchangeGrant({ grant, action: 'deploy.run', resource: 'service:billing' }, {
      waitForApproval: {
        timeoutMs: 60_000,
        onPending: (info) => {
          approving = Promise.resolve(t.app.adminApp.request(`/v1/approvals/${info.authReqId}/approve`, { method: 'POST', headers: { authorization: `Bearer ${approver}` } }))
        },
      },
    })
    const approved = await waiting
    expect(decodePayload(approved.accessToken)).toMatchObject({ sub: 'alice@example.com', act: { sub: a.agent.id } })
  })
})
