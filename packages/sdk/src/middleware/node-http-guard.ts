/** A `node:http` request handler wrapper: verifies the capability token (and its DPoP proof) before the handler runs. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { VerifiedCapability } from '../verify/capability-verifier.js'
import { checkOrigin, guard, refusal, type CapabilityGuardOptions, type GuardedRequest } from './capability-guard.js'

export type GuardedNodeHandler = (request: IncomingMessage, response: ServerResponse, capability: VerifiedCapability) => void | Promise<void>

/**
 * Wraps `handler`: it runs only for a request whose token verifies for `expected(request)`, with a valid proof when the
 * token is DPoP-bound; any other request is answered 401/403 (with a `WWW-Authenticate` challenge) and never reaches it.
 */
export function withCapability(
  options: CapabilityGuardOptions<IncomingMessage>, handler: GuardedNodeHandler,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  const origin = checkOrigin(options.origin)
  return async (request, response) => {
    const guarded: GuardedRequest = {
      method: request.method ?? '',
      path: request.url ?? '/',
      authorization: single(request.headers.authorization),
      // Node joins repeated unknown headers with ", ", which the proof check refuses (one proof per request).
      dpop: single(request.headers.dpop),
    }
    let capability: VerifiedCapability
    try {
      capability = await guard(options.verifier, origin, guarded, options.expected(request))
    } catch (error) {
      const { status, headers, body } = refusal(error, guarded)
      response.writeHead(status, headers).end(body)
      return
    }
    await handler(request, response, capability)
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}
