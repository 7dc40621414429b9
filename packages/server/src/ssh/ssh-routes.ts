/** HTTP adapter of the SSH endpoints: `GET /ssh/ca`, `POST /ssh/certificates`, `POST /ssh/host-certificate`, `GET /ssh/krl`. */
import { Hono, type Context } from 'hono'
import { WritError } from '@writ/sdk'
import { problemResponse, toWritError } from '../errors/error-responses.js'
import { readJson } from '../http/read-json.js'
import type { Logger } from '../logger.js'
import type { RateLimits } from '../rate-limits/rate-limits.js'
import type { ApiTokenVerifier } from '../resource-servers/verify-api-token.js'
import type { SshHostDirectory } from './host-directory.js'
import { activeHost, issueHostCertificate, type IssueHostCertificateDeps } from './issue-host-certificate.js'
import { issueUserCertificate, type IssueUserCertificateDeps } from './issue-user-certificate.js'
import type { SshCertificateAuthorities } from './ssh-certificate-authorities.js'
import type { SshRevocationList } from './ssh-revocation-list.js'

export interface SshRoutesDeps {
  cas: SshCertificateAuthorities
  user: Omit<IssueUserCertificateDeps, 'ca'>
  host: Omit<IssueHostCertificateDeps, 'ca'>
  hosts: Pick<SshHostDirectory, 'byId'>
  krl: Pick<SshRevocationList, 'current'>
  verifyApiToken: ApiTokenVerifier
  logger: Logger
  rateLimits: Pick<RateLimits, 'admitAddress'>
  remoteAddress: (c: Context) => string | undefined
}

// A public key line is under 1 KiB; the body carries nothing else.
const BODY_LIMIT = 4 * 1024
const NO_STORE = { 'cache-control': 'no-store' }

export function sshRoutes(deps: SshRoutesDeps): Hono {
  const app = new Hono()
  const fail = (c: Context, error: unknown) => problemResponse(c, toWritError(error, deps.logger))

  app.get('/ssh/ca', (c) => c.json({
    user_ca: `${deps.cas.user.publicKey.line} writ-user-ca`,
    host_ca: `${deps.cas.host.publicKey.line} writ-host-ca`,
  }))

  app.post('/ssh/certificates', async (c) => {
    try {
      // DOS-01: the address's bucket before the body is read or any signature checked, as at the token endpoint.
      deps.rateLimits.admitAddress(deps.remoteAddress(c))
      const body = await readJson(c, BODY_LIMIT)
      const issued = await issueUserCertificate({
        authorization: c.req.header('authorization'), dpopProof: c.req.header('dpop'), method: c.req.method,
      }, body, { ...deps.user, ca: deps.cas.user })
      return c.json(issued, 201, NO_STORE)
    } catch (error) {
      return fail(c, error)
    }
  })

  app.post('/ssh/host-certificate', async (c) => {
    try {
      const hostId = await callingHost(c, deps)
      const body = await readJson(c, BODY_LIMIT)
      return c.json(await issueHostCertificate(hostId, body, { ...deps.host, ca: deps.cas.host }), 200, NO_STORE)
    } catch (error) {
      return fail(c, error)
    }
  })

  app.get('/ssh/krl', async (c) => {
    try {
      activeHost(await callingHost(c, deps), deps.hosts)
      const krl = await deps.krl.current()
      const headers = { etag: krl.etag, 'cache-control': 'no-cache', 'x-writ-krl-version': String(krl.version) }
      if (c.req.header('if-none-match') === krl.etag) return c.body(null, 304, headers)
      return c.body(new Uint8Array(krl.bytes), 200, { ...headers, 'content-type': 'application/octet-stream' })
    } catch (error) {
      return fail(c, error)
    }
  })

  return app
}

/** The host behind a Writ API token (client_credentials, `writ:revocations`); its client id is the host id. */
async function callingHost(c: Context, deps: SshRoutesDeps): Promise<string> {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(c.req.header('authorization') ?? '')
  if (match === null) throw new WritError('TOKEN_INVALID', 'a host access token is required', { reasons: ['authorization_missing'] })
  return (await deps.verifyApiToken(match[1] as string, 'writ:revocations')).clientId
}
