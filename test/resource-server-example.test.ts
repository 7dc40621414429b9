/**
 * examples/resource-server runs end to end: a real Writ server, the example billing API subscribed to its revocation
 * stream, an agent calling it with a capability token; revoking the token makes the example refuse it.
 */
import { describe, expect, it } from 'vitest'
import { createAgentClient } from '@writ/sdk'
import { startBillingApi } from '../examples/resource-server/billing-api.js'
import { ACTION, AUDIENCE, cleanups, eventually, jtiOf, setUp, startWrit } from './revocation-e2e.fixture.js'

describe('examples/resource-server', () => {
  it('serves a capability token, then refuses it once revoked at Writ (401 TOKEN_REVOKED)', async () => {
    const writ = await startWrit()
    const { admin, registerAgent, resourceServer } = await setUp(writ)
    const agent = await registerAgent('deploy-bot')
    const api = await startBillingApi({
      issuer: writ.issuer, audience: AUDIENCE, clientId: resourceServer.id, privateKey: resourceServer.privateJwk,
    })
    cleanups.push(() => api.close())

    const client = createAgentClient({ issuer: writ.issuer, agentId: agent.id, privateKey: agent.privateJwk })
    const grant = await client.requestCapability({ action: ACTION.action, resource: ACTION.resource, taskId: 'T-77', audience: AUDIENCE })
    const call = async () => fetch(`${api.url}/tests/run`, {
      method: 'POST', headers: await client.authorizationHeaders(grant, { method: 'POST', url: `${api.url}/tests/run` }),
    })
    const served = await call()
    expect(served.status).toBe(200)
    expect(await served.json()).toEqual({ ran: 'tests', for: agent.id, task: 'T-77' })

    await admin('POST', '/v1/revocations', { kind: 'token', jti: jtiOf(grant.accessToken), reason: 'example: revoked' })
    let refused: Response | undefined
    await eventually(async () => (refused = await call()).status !== 200)
    expect(refused!.status).toBe(401)
    expect(await refused!.json()).toMatchObject({ error: 'invalid_token', writ_code: 'TOKEN_REVOKED' })
  })
})
