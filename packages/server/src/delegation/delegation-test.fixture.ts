/** Test support for delegation: a mandate through the admin API and the token-exchange requests of the grant types. */
import { CLIENT_ASSERTION_TYPE, GRANT_TYPES, TOKEN_TYPE_IDS, type WritAction } from '@writ/sdk'
import type { TestAgent, TestApp } from '../test-app.fixture.js'
import { openStorage } from '../storage/open-storage.js'
import type { Storage } from '../storage/storage.js'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../storage/test-database.fixture.js'

export interface Engine { name: string; open: () => Promise<{ storage: Storage; dispose(): Promise<void> }> }

/** SQLite always; PostgreSQL too when WRIT_TEST_DATABASE_URL is set (a fresh database per test, dropped after). */
export function engines(): Engine[] {
  const list: Engine[] = [{ name: 'sqlite', open: async () => ({ storage: await openStorage({ driver: 'sqlite', sqlitePath: ':memory:' }), dispose: async () => undefined }) }]
  if (TEST_DATABASE_URL) {
    list.push({ name: 'postgres', open: async () => {
      const database = await createTestDatabase()
      return { storage: await openStorage({ driver: 'postgres', url: database.url }), dispose: () => database.drop() }
    } })
  } else describePostgres()
  return list
}

export const action = (name: string, resource: string, extra: Partial<WritAction> = {}): WritAction => ({ type: 'writ_action', action: name, resource, ...extra })

export async function mandate(
  t: TestApp, agent: TestAgent, details: WritAction[], options: { human?: string; task?: string; expiresIn?: number } = {},
): Promise<{ grant: string; jti: string }> {
  const response = await t.admin('POST', '/v1/grants', {
    human: options.human ?? 'alice@example.com', agent: agent.agent.id, authorization_details: details,
    task: { id: options.task ?? 'T-9' }, ...(options.expiresIn ? { expires_in: options.expiresIn } : {}),
  })
  if (response.status !== 201) throw new Error(`mandate failed: ${response.status} ${await response.text()}`)
  const body = await response.json() as { grant: string; jti: string }
  return { grant: body.grant, jti: body.jti }
}

/** Grant → capability token (RFC 8693, requested_token_type access_token). */
export async function exchangeForCapability(t: TestApp, agent: TestAgent, grant: string, detail: WritAction, extra: Record<string, string> = {}): Promise<Response> {
  return t.token({
    grant_type: GRANT_TYPES.tokenExchange, client_id: agent.agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await agent.assertion(), subject_token: grant, subject_token_type: TOKEN_TYPE_IDS.grant,
    requested_token_type: TOKEN_TYPE_IDS.accessToken, authorization_details: JSON.stringify([detail]), ...extra,
  })
}

/** Grant → narrower grant for another agent (named with the RFC 8693 `audience` parameter). */
/** `details` undefined: the request names none, so the child keeps the parent's entries. */
export async function delegate(t: TestApp, agent: TestAgent, grant: string, to: string, details: WritAction[] | undefined, extra: Record<string, string> = {}): Promise<Response> {
  return t.token({
    grant_type: GRANT_TYPES.tokenExchange, client_id: agent.agent.id, client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await agent.assertion(), subject_token: grant, subject_token_type: TOKEN_TYPE_IDS.grant,
    requested_token_type: TOKEN_TYPE_IDS.grant, audience: to, ...(details ? { authorization_details: JSON.stringify(details) } : {}), ...extra,
  })
}

export function decodePayload(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>
}
