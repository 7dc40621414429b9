/** The two renderers: RFC 9457 problem+json for the admin and resource APIs, the OAuth error format for /oauth/*. */
import type { Context } from 'hono'
import { WritError } from '@writ/sdk'
import { describeError, type Logger } from '../logger.js'

/** Unexpected errors become a 500 with no detail, logged once with their cause. */
export function toWritError(error: unknown, logger: Logger): WritError {
  if (error instanceof WritError) {
    if (error.status >= 500) logger.error('request failed', { code: error.code, ...describeError(error.cause ?? error) })
    return error
  }
  logger.error('unexpected error', describeError(error))
  return new WritError('INTERNAL', 'internal error')
}

export function problemResponse(c: Context, error: WritError): Response {
  const headers: Record<string, string> = { 'content-type': 'application/problem+json', 'cache-control': 'no-store' }
  if (error.code === 'ADMIN_UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="writ-admin"'
  retryAfter(error, headers)
  return c.body(JSON.stringify(error.toProblem()), error.status as 400, headers)
}

export function oauthErrorResponse(c: Context, error: WritError): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' }
  // RFC 6749 §5.2: invalid_client answers 401 with a challenge naming the scheme the client tried.
  if (error.oauthError === 'invalid_client') headers['www-authenticate'] = 'Bearer error="invalid_client"'
  retryAfter(error, headers)
  return c.body(JSON.stringify(error.toOAuth()), error.status as 400, headers)
}

function retryAfter(error: WritError, headers: Record<string, string>): void {
  if (error.status === 429) headers['retry-after'] = String(error.extra.retry_after ?? 1)
}
