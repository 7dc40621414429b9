/** Reads a JSON body (size-capped by the route's body limit), refusing wrong content types and deep nesting. */
import type { Context } from 'hono'
import { SIZE_LIMITS, WritError } from '@writ/sdk'
import { readBody } from './read-form.js'

/**
 * With `maxBytes` the body is read straight from Node's stream and capped there (a hot path: POST /ssh/certificates);
 * without it through Hono, under the route's body limit.
 */
export async function readJson(c: Context, maxBytes?: number): Promise<unknown> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/json') throw new WritError('CONTENT_TYPE_UNSUPPORTED', 'the body must be application/json')
  const text = maxBytes === undefined ? await c.req.text() : await readBody(c, maxBytes)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new WritError('REQUEST_INVALID', 'the body is not valid JSON')
  }
  if (depth(value) > SIZE_LIMITS.jsonDepth) throw new WritError('REQUEST_INVALID', `the body nests deeper than ${SIZE_LIMITS.jsonDepth}`)
  return value
}

/** Iterative, so a hostile 100,000-deep array cannot overflow the stack. */
function depth(root: unknown): number {
  let max = 0
  const stack: Array<[unknown, number]> = [[root, 1]]
  while (stack.length > 0) {
    const [value, level] = stack.pop() as [unknown, number]
    if (value === null || typeof value !== 'object') continue
    max = Math.max(max, level)
    if (max > SIZE_LIMITS.jsonDepth) return max
    for (const child of Object.values(value as object)) stack.push([child, level + 1])
  }
  return max
}
