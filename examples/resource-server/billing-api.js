/**
 * A resource server guarded by Writ: a node:http "billing API" whose one endpoint runs only for a capability token
 * that grants `tests.run` on `repo:acme/billing` for this server's audience, and that nobody has revoked.
 *
 * The verifier subscribes to Writ's revocation stream with the resource server's own key (it is a registered client,
 * authenticated by private_key_jwt like an agent). Run it with:
 *
 *   WRIT_ISSUER=http://127.0.0.1:8080 RS_CLIENT_ID=<resource server id> RS_PRIVATE_KEY=rs.private.jwk \
 *   RS_AUDIENCE=https://billing.example.com node examples/resource-server/billing-api.js
 *
 * docs/revocation.md walks through it; test/resource-server-example.test.ts runs it end to end.
 */
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { createCapabilityVerifier, subscribeRevocations, withCapability } from '@writ/sdk'

/**
 * Starts the billing API on `port` (0: any free port). `mode` is `strict` (refuse everything while the revocation
 * list is not known to be current) or `best_effort` (serve with the last known list). Resolves to its URL and close().
 */
export async function startBillingApi({ issuer, audience, clientId, privateKey, port = 0, mode = 'strict', publicOrigin }) {
  // With its id and key, the subscriber obtains Writ's API token itself (client_credentials, scope
  // writ:revocations, private_key_jwt) and renews it before it expires.
  const revocations = subscribeRevocations({
    issuer,
    clientId,
    privateKey,
    mode,
    staleAfterSeconds: 10,
    onError: (error) => console.error(`revocation stream: ${error.message}`),
  })
  const verifier = createCapabilityVerifier({
    issuer,
    audience,
    jwks: `${issuer}/.well-known/jwks.json`,
    isRevoked: revocations.isRevoked,
  })

  let handler
  const server = createServer((request, response) => {
    if (request.method === 'POST' && request.url === '/tests/run') return void handler(request, response)
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}')
  })
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}`
  handler = withCapability(
    {
      verifier,
      // The origin clients address this server at (a DPoP proof's htu names it); configured, never read from Host.
      origin: publicOrigin ?? url,
      expected: () => ({ action: 'tests.run', resource: 'repo:acme/billing' }),
    },
    (request, response, capability) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ ran: 'tests', for: capability.claims.sub, task: capability.claims.task?.id }))
    },
  )
  // Serve only once the first snapshot of revocations has arrived: in strict mode every request would fail before.
  await revocations.ready
  return {
    url,
    revocations,
    close: () => new Promise((resolve) => {
      revocations.close()
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const env = (name) => {
    const value = process.env[name]
    if (!value) throw new Error(`${name} is required`)
    return value
  }
  const api = await startBillingApi({
    issuer: env('WRIT_ISSUER'),
    audience: env('RS_AUDIENCE'),
    clientId: env('RS_CLIENT_ID'),
    privateKey: JSON.parse(readFileSync(env('RS_PRIVATE_KEY'), 'utf8')),
    port: Number(process.env.PORT ?? 8090),
    mode: process.env.REVOCATION_MODE ?? 'strict',
  })
  console.log(`billing API on ${api.url} (POST /tests/run)`)
  process.once('SIGINT', () => void api.close())
  process.once('SIGTERM', () => void api.close())
}
