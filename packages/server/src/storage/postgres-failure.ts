/** Says why PostgreSQL could not be opened (no database, refused, bad login, unknown host, timeout), never with the password. */
import { postgresUrlParts, redactPostgresUrl } from './postgres-url.js'

export interface PostgresFailure {
  /** One lowercase sentence naming the cause and where; never the password. */
  detail: string
  /** A stable machine reason: database_not_found, connection_refused, authentication_failed, host_not_found, timeout, … */
  reason: string
}

/** Reads the cause from the pg error (SQLSTATE) or the socket error (errno code) and words it for an operator. */
export function describePostgresFailure(cause: unknown, url: string): PostgresFailure {
  const parts = postgresUrlParts(url)
  const where = `\`${redactPostgresUrl(url)}\``
  const address = parts ? `${parts.host}:${parts.port}` : 'the configured address'
  const code = errorCode(cause)
  const message = cause instanceof Error ? cause.message : ''
  const say = (reason: string, text: string): PostgresFailure => ({ reason, detail: `cannot open postgres storage at ${where}: ${text}` })

  switch (code) {
    case '3D000':
      return say('database_not_found', `database \`${parts?.database ?? '?'}\` does not exist on ${address}; create it (createdb) or name another in storage.url`)
    case '28P01':
      return say('authentication_failed', `password authentication failed for user \`${parts?.user ?? '?'}\``)
    case '28000':
      return say('authentication_failed', `the server refused user \`${parts?.user ?? '?'}\` (no such role, or no pg_hba.conf entry allows it)`)
    case 'ECONNREFUSED':
      return say('connection_refused', `connection refused by ${address}; is PostgreSQL running and listening there?`)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return say('host_not_found', `host \`${parts?.host ?? '?'}\` not found`)
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return say('timeout', `no answer from ${address} (${code})`)
  }
  // pg's pool and client say these in words, without a code.
  if (/client password must be a string/i.test(message)) {
    return say('password_missing', `the server asks for a password for user \`${parts?.user ?? '?'}\` and storage.url has none`)
  }
  if (/timeout|timed out/i.test(message)) return say('timeout', `no answer from ${address} within the connection timeout`)
  if (code && /^[0-9A-Z]{5}$/.test(code)) return say('postgres_error', `the server answered with SQLSTATE ${code}`)
  return say('unknown', 'the connection failed')
}

/** The SQLSTATE or errno code; Node reports a refused dual-stack connect as an AggregateError of per-address errors. */
function errorCode(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null) return undefined
  const own = (cause as { code?: unknown }).code
  if (typeof own === 'string') return own
  const inner = (cause as { errors?: unknown }).errors
  return Array.isArray(inner) ? inner.map(errorCode).find((c) => c !== undefined) : undefined
}
