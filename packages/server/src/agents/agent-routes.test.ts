import { generateKeyPairSync } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTestApp, exampleDocument, type TestApp } from '../test-app.fixture.js'
import type { Agent, AgentVersion } from './agent-document.js'

describe('agent registry over the admin API', () => {
  let t: TestApp
  beforeEach(async () => { t = await createTestApp() })
  afterEach(async () => t.close())

  it('registers every sample identity document', async () => {
    for (const file of ['deploy-bot', 'sre-responder', 'support-assistant'] as const) {
      const document = exampleDocument(file)
      const { agent } = await t.register(document)
      expect(agent).toMatchObject({ name: document.name, status: 'active', version: 1 })
      expect(agent.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(agent.document.jwks.keys[0]?.kid).toBeTruthy()
    }
    const list = await (await t.admin('GET', '/v1/agents')).json() as { agents: Agent[] }
    expect(list.agents.map((a) => a.name)).toEqual(['customer-support-agent-prod-1', 'deploy-bot', 'sre-responder'])
  })

  it('rejects unknown fields with their path', async () => {
    const response = await t.admin('POST', '/v1/agents', { ...exampleDocument('deploy-bot'), capabilities: [{ id: 'x', risk_level: 'low', colour: 'red' }] })
    expect(response.status).toBe(400)
    const problem = await response.json() as { code: string; reasons: string[] }
    expect(problem.code).toBe('AGENT_DOCUMENT_INVALID')
    expect(problem.reasons.join()).toContain('capabilities.0')
  })

  it('refuses a key that carries private material', async () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const response = await t.admin('POST', '/v1/agents', { ...exampleDocument('deploy-bot'), jwks: { keys: [privateKey.export({ format: 'jwk' })] } })
    expect(response.status).toBe(400)
    expect((await response.json() as { code: string }).code).toBe('AGENT_DOCUMENT_INVALID')
    expect(await t.storage.agents.list()).toEqual([])
  })

  it('answers malformed JSON, wrong content type and oversized bodies with problem+json', async () => {
    const send = (init: RequestInit) => t.app.adminApp.request('/v1/agents', { method: 'POST', ...init, headers: { authorization: `Bearer ${t.adminToken}`, ...(init.headers as Record<string, string>) } })
    const malformed = await send({ headers: { 'content-type': 'application/json' }, body: '{"name":' })
    expect(malformed.status).toBe(400)
    expect(malformed.headers.get('content-type')).toBe('application/problem+json')
    expect((await send({ headers: { 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415)
    expect((await send({ headers: { 'content-type': 'application/json' }, body: `{"a":"${'x'.repeat(1_100_000)}"}` })).status).toBe(413)
    expect((await send({ headers: { 'content-type': 'application/json' }, body: '['.repeat(100) + ']'.repeat(100) })).status).toBe(400)
  })

  it('keeps every change as a version and says what changed', async () => {
    const { agent } = await t.register(exampleDocument('deploy-bot'))
    const updated = { ...agent.document, team: 'release', description: 'now with releases' }
    const response = await t.admin('PUT', `/v1/agents/${agent.id}`, updated)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ version: 2, document: { team: 'release' } })
    await t.admin('POST', `/v1/agents/${agent.id}/suspend`)
    await t.admin('POST', `/v1/agents/deploy-bot/resume`)
    const { versions } = await (await t.admin('GET', `/v1/agents/${agent.id}/versions`)).json() as { versions: AgentVersion[] }
    expect(versions.map((v) => [v.version, v.change.kind, v.status])).toEqual([
      [1, 'register', 'active'], [2, 'update', 'active'], [3, 'suspend', 'suspended'], [4, 'resume', 'active'],
    ])
    expect(versions[1]?.change.fields).toEqual(['description', 'team'])
    expect(versions[0]?.document.team).toBe('platform')
    const types = (await t.storage.audit.tail(10)).map((r) => r.type)
    expect(types).toEqual(expect.arrayContaining(['agent.register', 'agent.update', 'agent.suspend', 'agent.resume']))
  })

  it('makes retirement final and never lets the name be reused', async () => {
    const { agent } = await t.register(exampleDocument('deploy-bot'))
    expect((await t.admin('POST', `/v1/agents/${agent.id}/retire`)).status).toBe(200)
    const resume = await t.admin('POST', `/v1/agents/${agent.id}/resume`)
    expect(resume.status).toBe(409)
    expect((await resume.json() as { code: string }).code).toBe('AGENT_RETIRED')
    expect((await t.admin('PUT', `/v1/agents/${agent.id}`, agent.document)).status).toBe(409)
    const reuse = await t.admin('POST', '/v1/agents', exampleDocument('deploy-bot'))
    expect(reuse.status).toBe(409)
    expect(await reuse.json()).toMatchObject({ code: 'AGENT_NAME_TAKEN', detail: expect.stringContaining('retired') })
    expect(await t.storage.agents.find(agent.id)).toMatchObject({ status: 'retired' })
  })

  it('refuses status changes that make no sense', async () => {
    const { agent } = await t.register(exampleDocument('deploy-bot'))
    const response = await t.admin('POST', `/v1/agents/${agent.id}/resume`)
    expect(response.status).toBe(409)
    expect((await response.json() as { code: string }).code).toBe('AGENT_STATUS_CONFLICT')
    expect((await t.admin('GET', '/v1/agents/00000000-0000-4000-8000-000000000000')).status).toBe(404)
  })

  it('requires an admin credential and audits the refusal without it', async () => {
    const none = await t.app.adminApp.request('/v1/agents')
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toContain('Bearer')
    const wrong = await t.app.adminApp.request('/v1/agents', { headers: { authorization: `Bearer ${t.adminToken.slice(0, -2)}xx` } })
    expect(wrong.status).toBe(401)
    const [last] = await t.storage.audit.tail(1)
    expect(last).toMatchObject({ type: 'admin.authentication_fail', decision: { reasons: ['credential_invalid'] } })
    expect(JSON.stringify(last)).not.toContain(t.adminToken.slice(20))
  })

  it('names the admin in the audit record of each change, and lets only admins change the registry', async () => {
    const created = await (await t.admin('POST', '/v1/admins', { name: 'alice', roles: ['approver'] })).json() as { id: string; credential: string }
    const asApprover = await t.app.adminApp.request('/v1/agents', {
      method: 'POST', headers: { authorization: `Bearer ${created.credential}`, 'content-type': 'application/json' }, body: JSON.stringify(exampleDocument('deploy-bot')),
    })
    expect(asApprover.status).toBe(403)
    const { agent } = await t.register(exampleDocument('deploy-bot'))
    const records = await t.storage.audit.tail(5)
    const register = records.find((r) => r.type === 'agent.register')
    const whoami = await (await t.admin('GET', '/v1/whoami')).json() as { id: string }
    expect(register?.actor).toEqual({ kind: 'admin', id: whoami.id })
    expect(register?.data?.agent_id).toBe(agent.id)
  })
})
