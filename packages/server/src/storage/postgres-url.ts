/** The PostgreSQL connection URL as it may be shown or recorded: never with its password. */

/** The connection URL as it may be shown: `postgres://user@host:port/db`, without password and query parameters. */
export function redactPostgresUrl(url: string): string {
  const parts = postgresUrlParts(url)
  if (!parts) return '(the configured storage.url, which does not parse as a URL)'
  return `${parts.protocol}//${parts.user ? `${parts.user}@` : ''}${parts.host}:${parts.port}/${parts.database}`
}

export interface PostgresUrlParts {
  protocol: string
  user: string
  host: string
  port: string
  database: string
  /** Whether the URL carries a password (which is never part of what is shown). */
  hasPassword: boolean
}

export function postgresUrlParts(url: string): PostgresUrlParts | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  const user = decodeURIComponent(parsed.username)
  // libpq's defaults: the local host, port 5432, and a database named after the user.
  return {
    protocol: parsed.protocol,
    user,
    host: parsed.hostname || 'localhost',
    port: parsed.port || '5432',
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || user || 'postgres',
    hasPassword: parsed.password.length > 0 || parsed.searchParams.has('password'),
  }
}

/**
 * The URL as the data directory records it (storage.json): everything needed to connect again but the password, which
 * is removed from the user info and from the query. Undefined when the URL does not parse.
 */
export function postgresUrlWithoutPassword(url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  parsed.password = ''
  parsed.searchParams.delete('password')
  return parsed.toString()
}
