/** A small fetch wrapper for the admin API: bearer credential in, WritError out (rebuilt from problem+json). */
import { WritError } from '@writ/sdk'

const REQUEST_TIMEOUT_MS = 10_000

/** Where the address and the credential came from, in words (`WRIT_ADMIN_TOKEN`, `the profile in ...`), for errors. */
export interface AdminClientSources {
  url: string
  credential: string
}

export class AdminClient {
  readonly baseUrl: string

  constructor(
    baseUrl: string,
    private readonly credential: string,
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly sources?: AdminClientSources,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '')
  }

  get<T>(path: string): Promise<T> {
    return this.send<T>('GET', path)
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.send<T>('POST', path, body)
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('PUT', path, body)
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('PATCH', path, body)
  }

  delete<T>(path: string): Promise<T> {
    return this.send<T>('DELETE', path)
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.credential}`, accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        // A redirect could carry the admin credential to another origin; the admin API never redirects.
        redirect: 'error',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
    } catch (cause) {
      const named = this.sources === undefined ? '' : ` named by ${this.sources.url}`
      throw new WritError('SERVER_UNAVAILABLE', `the admin API${named} (\`${this.baseUrl}\`) is unreachable`, { reasons: ['network_error'], cause })
    }
    const payload: unknown = await response.json().catch(() => undefined)
    if (!response.ok) {
      const error = WritError.fromResponse(response.status, payload)
      // Which credential was refused is the useful part when several sources could have supplied one.
      if (error.code === 'ADMIN_UNAUTHENTICATED' && this.sources !== undefined) {
        throw new WritError('ADMIN_UNAUTHENTICATED', `the admin credential from ${this.sources.credential} was refused by \`${this.baseUrl}\``, { cause: error })
      }
      throw error
    }
    return payload as T
  }
}

/** Path segment for an agent addressed by id or name. */
export function agentPath(idOrName: string, suffix = ''): string {
  return `/v1/agents/${encodeURIComponent(idOrName)}${suffix}`
}
