/**
 * End to end across replicas: a verifier subscribed to the second of two Writ servers on one PostgreSQL database
 * refuses a token revoked on the first (the revoking transaction's NOTIFY, the second's LISTEN and feed, its stream).
 */
import { describe, expect, it } from 'vitest'
import { createTestDatabase, describePostgres, TEST_DATABASE_URL } from '../packages/server/src/storage/test-database.fixture.js'
import { apiTokens, cleanups, eventually, mint, outcome, setUp, startWrit, subscribedVerifier, until } from './revocation-e2e.fixture.js'

describe(`replicas on ${describePostgres()}`, () => {
  it.skipIf(!TEST_DATABASE_URL)('a verifier connected to the second replica refuses a token revoked on the first', async () => {
    const database = await createTestDatabase()
    cleanups.push(() => database.drop())
    const storage = { driver: 'postgres', url: database.url }
    // Replicas behind one name share the issuer identifier; each signs with its own key (both in the JWKS it serves).
    const issuer = 'http://writ.replicas.test'
    const one = await startWrit({ storage, issuer })
    const two = await startWrit({ storage, issuer })
    const { admin, registerAgent, resourceServer } = await setUp(one)
    const agent = await registerAgent('deploy-bot')
    const { token, jti } = await mint(one, agent)
    const tokensFromTwo = apiTokens(issuer, two.server.publicUrl, resourceServer)
    // The second replica learns of the new resource server on its next registry refresh (every 5 s).
    await eventually(() => tokensFromTwo({ scope: 'writ:revocations', refresh: true }).then(() => true, () => false), 30_000)
    const { verifier, subscription } = subscribedVerifier(issuer, one.server.publicUrl, {
      eventsUrl: `${two.server.publicUrl}/revocations/events`, accessToken: tokensFromTwo,
    })
    await subscription.ready
    expect(await outcome(verifier, token)).toBe('accepted')
    await admin('POST', '/v1/revocations', { kind: 'token', jti, reason: 'revoked on replica one' })
    await until(verifier, token, 'TOKEN_REVOKED')
  }, 60_000) // two servers and a registry refresh (every 5 s) on a CI machine shared with the rest of the suite
})
