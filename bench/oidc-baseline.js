/**
 * The baseline server for bench/mint.js: oidc-provider issuing client_credentials JWT access tokens (RFC 9068-style,
 * EdDSA) to one private_key_jwt client, with its default in-memory adapter. Run as its own process:
 *
 *   node bench/oidc-baseline.js '<client public JWK as JSON>'
 *
 * Prints one JSON line {"issuer","token_endpoint","pid"} on stdout once listening; stops on SIGTERM.
 */
import { createServer } from 'node:http'
import { generateKeyPairSync } from 'node:crypto'
import Provider from 'oidc-provider'

const clientJwk = JSON.parse(process.argv[2] ?? 'null')
if (!clientJwk) throw new Error('usage: node bench/oidc-baseline.js <client public JWK>')

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })
const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })

const server = createServer()
server.keepAliveTimeout = 5_000
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const issuer = `http://127.0.0.1:${server.address().port}`

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'EdDSA',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    jwks: { keys: [clientJwk] },
  }],
  // oidc-provider needs an RS256 key (ID tokens' default) besides the EdDSA key that signs the access tokens.
  jwks: { keys: [{ ...rsa, kid: 'rs', alg: 'RS256', use: 'sig' }, { ...ed, kid: 'ed', alg: 'EdDSA', use: 'sig' }] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:bench',
      getResourceServerInfo: () => ({ scope: 'api', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'EdDSA' } } }),
      useGrantedResource: () => true,
    },
  },
})
provider.on('server_error', (_ctx, error) => process.stderr.write(`oidc-provider server_error: ${error.stack}\n`))
server.on('request', provider.callback())

process.stdout.write(`${JSON.stringify({ issuer, token_endpoint: `${issuer}/token`, pid: process.pid })}\n`)
process.once('SIGTERM', () => { server.close(); server.closeAllConnections(); process.exit(0) })
