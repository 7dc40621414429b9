/**
 * A Hono middleware that verifies the capability token (and its DPoP proof) and stores the result under
 * `c.get('capability')`. Typed structurally, so @writ/sdk does not depend on Hono.
 */
import type { VerifiedCapability } from '../verify/capability-verifier.js'
import { checkOrigin, guard, refusal, type CapabilityGuardOptions, type GuardedRequest } from './capability-guard.js'

/** The part of Hono's `Context` the middleware uses. */
export interface HonoContextLike {
  req: { method: string; url: string; header(name: string): string | undefined }
  set(key: 'capability', value: VerifiedCapability): void
}

export function capabilityMiddleware<C extends HonoContextLike>(
  options: CapabilityGuardOptions<C>,
): (c: C, next: () => Promise<void>) => Promise<Response | void> {
  const origin = checkOrigin(options.origin)
  return async (c, next) => {
    const url = new URL(c.req.url)
    const guarded: GuardedRequest = {
      method: c.req.method,
      // Only the path and query of the URL Hono built; the origin is the configured one, never the Host header's.
      path: `${url.pathname}${url.search}`,
      authorization: c.req.header('authorization'),
      dpop: c.req.header('dpop'),
    }
    try {
      c.set('capability', await guard(options.verifier, origin, guarded, options.expected(c)))
    } catch (error) {
      const { status, headers, body } = refusal(error, guarded)
      return new Response(body, { status, headers })
    }
    await next()
  }
}
