/** Reads an application/x-www-form-urlencoded body (size-capped by the route's body limit) into single-valued fields. */
import type { Context } from 'hono'
import { WritError } from '@writ/sdk'

export async function readForm(c: Context): Promise<Map<string, string>> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') {
    throw new WritError('CONTENT_TYPE_UNSUPPORTED', 'the body must be application/x-www-form-urlencoded')
  }
  const params = new URLSearchParams(await c.req.text())
  const fields = new Map<string, string>()
  for (const [name, value] of params) {
    // RFC 6749 §3.2: parameters must not appear more than once.
    if (fields.has(name)) throw new WritError('REQUEST_INVALID', `parameter \`${name.slice(0, 64)}\` appears more than once`)
    fields.set(name, value)
  }
  return fields
}
