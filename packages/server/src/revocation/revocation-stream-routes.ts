/**
 * Public HTTP adapter of revocation events for resource servers: the SSE stream (`GET /revocations/events`) and its
 * JSON twin for pollers (`GET /revocations?since=N`). Both need Writ's own API access token (scope
 * `writ:revocations`); without a valid one the answer is 401 and no event data.
 */
import { Hono, type Context } from 'hono'
import { WritError } from '@writ/sdk'
import type { Clock } from '../clock.js'
import type { RevocationRepository } from '../storage/revocation-repository.js'
import type { RevocationFeed } from './revocation-feed.js'
import type { RevocationStreams, StreamAuthorization } from './revocation-streams.js'

/**
 * The port that checks the stream's bearer token (resource-servers/ implements it with verifyApiToken and the
 * `writ:revocations` scope). Rejects when the header does not carry a valid access token with that scope.
 */
export type AuthorizeStream = (authorizationHeader: string | undefined) => Promise<StreamAuthorization>

export interface RevocationStreamRoutesDeps {
  streams: RevocationStreams
  revocations: Pick<RevocationRepository, 'eventsAfter' | 'lastEventId'>
  feed: RevocationFeed
  clock: Clock
  /** Absent until resource servers exist: every request is then refused (fail closed). */
  authorize: AuthorizeStream | undefined
}

export const REVOCATION_EVENTS_PATH = '/revocations/events'
export const REVOCATIONS_PATH = '/revocations'

const PAGE = 1_000
// Event ids are integers that fit a double exactly; anything else in `since` or `Last-Event-ID` is refused.
const EVENT_ID = /^(0|[1-9][0-9]{0,14})$/

export function revocationStreamRoutes(deps: RevocationStreamRoutesDeps): Hono {
  const app = new Hono()

  app.get(REVOCATION_EVENTS_PATH, async (c) => {
    const authorization = await authorize(c, deps)
    if (authorization instanceof Response) return authorization
    const lastEventId = c.req.header('last-event-id')
    const after = lastEventId === undefined || lastEventId === '' ? 0 : parseEventId(lastEventId, 'Last-Event-ID')
    const body = deps.streams.open(after, authorization)
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // Proxies (nginx) must pass each event on as it is written, not buffer the response.
        'x-accel-buffering': 'no',
      },
    })
  })

  app.get(REVOCATIONS_PATH, async (c) => {
    const authorization = await authorize(c, deps)
    if (authorization instanceof Response) return authorization
    const since = parseEventId(c.req.query('since') ?? '0', 'since')
    // The head is read first: an event committed after it is either in the page or has a greater id than the
    // `last_event_id` answered, so the next poll gets it.
    const head = await deps.revocations.lastEventId()
    const page = await deps.revocations.eventsAfter(since, deps.clock.nowMs(), PAGE)
    const complete = page.length < PAGE
    const last = page.at(-1)?.eventId ?? since
    return c.json({
      events: page.map(({ eventId, event }) => ({ id: eventId, ...event })),
      last_event_id: complete ? Math.max(head, last, since) : last,
    }, 200, { 'cache-control': 'no-store' })
  })

  return app
}

async function authorize(c: Context, deps: RevocationStreamRoutesDeps): Promise<StreamAuthorization | Response> {
  try {
    if (deps.authorize === undefined) throw new Error('no stream authorizer is configured')
    return await deps.authorize(c.req.header('authorization'))
  } catch (error) {
    // RFC 6750 §3.1: the challenge names the problem; the body says nothing about which check failed.
    if (error instanceof WritError && error.status >= 500) throw error
    const refusal = new WritError('TOKEN_INVALID', 'a valid access token with the scope `writ:revocations` is required')
    return c.body(JSON.stringify(refusal.toProblem()), 401, {
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
      'www-authenticate': 'Bearer error="invalid_token", scope="writ:revocations"',
    })
  }
}

function parseEventId(value: string, name: string): number {
  if (!EVENT_ID.test(value)) throw new WritError('REQUEST_INVALID', `\`${name}\` must be a non-negative integer event id`)
  return Number(value)
}
