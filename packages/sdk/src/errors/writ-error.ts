/** The one error class of Writ: a stable code, a status, and a detail that is safe to show callers. */
import { ERROR_CODES, isErrorCode, type ErrorCode } from './error-codes.js'

export interface WritErrorOptions {
  /** Extra machine-readable reasons (policy ids, failed checks). Never secrets. */
  reasons?: readonly string[]
  cause?: unknown
  /** Extra protocol members of the OAuth error body: CIBA's `auth_req_id`, `expires_in`, `interval`, and `retry_after` (seconds) of a 429. */
  extra?: Readonly<Record<string, string | number>>
}

/** RFC 9457 problem details as Writ renders them. */
export interface ProblemDetails {
  type: string
  title: string
  status: number
  detail?: string
  code: ErrorCode
  reasons?: string[]
}

export const PROBLEM_TYPE_BASE = 'https://writ.dev/errors/'

export class WritError extends Error {
  readonly code: ErrorCode
  readonly status: number
  /** Safe to show the caller: lowercase, ids in backticks, never a token, key or secret. */
  readonly detail: string
  readonly reasons: readonly string[]
  readonly extra: Readonly<Record<string, string | number>>

  constructor(code: ErrorCode, detail?: string, options: WritErrorOptions = {}) {
    const spec = ERROR_CODES[code]
    super(detail ?? spec.title, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'WritError'
    this.code = code
    this.status = spec.status
    this.detail = detail ?? spec.title.toLowerCase()
    this.reasons = options.reasons ?? []
    this.extra = options.extra ?? {}
  }

  get oauthError(): string {
    return ERROR_CODES[this.code].oauth
  }

  toProblem(): ProblemDetails {
    const problem: ProblemDetails = {
      type: PROBLEM_TYPE_BASE + this.code.toLowerCase().replaceAll('_', '-'),
      title: ERROR_CODES[this.code].title,
      status: this.status,
      detail: this.detail,
      code: this.code,
    }
    if (this.reasons.length > 0) problem.reasons = [...this.reasons]
    return problem
  }

  toOAuth(): { error: string; error_description: string; writ_code: ErrorCode; reasons?: string[]; [member: string]: unknown } {
    const body: { error: string; error_description: string; writ_code: ErrorCode; reasons?: string[]; [member: string]: unknown } = {
      ...this.extra,
      error: this.oauthError,
      error_description: this.detail,
      writ_code: this.code,
    }
    if (this.reasons.length > 0) body.reasons = [...this.reasons]
    return body
  }

  /**
   * Rebuilds the error from a response body (problem+json or OAuth error JSON), so `switch (err.code)` works on
   * both sides of the wire. Unknown shapes become INTERNAL with the HTTP status kept in the detail.
   */
  static fromResponse(status: number, body: unknown): WritError {
    if (body !== null && typeof body === 'object') {
      const record = body as Record<string, unknown>
      const code = isErrorCode(record.code) ? record.code : isErrorCode(record.writ_code) ? record.writ_code : undefined
      const detail = typeof record.detail === 'string' ? record.detail
        : typeof record.error_description === 'string' ? record.error_description : undefined
      const reasons = Array.isArray(record.reasons) ? record.reasons.filter((r): r is string => typeof r === 'string') : []
      const extra: Record<string, string | number> = {}
      for (const member of ['auth_req_id', 'expires_in', 'interval', 'retry_after']) {
        const value = record[member]
        if (typeof value === 'string' || typeof value === 'number') extra[member] = value
      }
      if (code) return new WritError(code, detail, { reasons, extra })
      if (typeof record.error === 'string') {
        const byOAuth = oauthFallback(record.error)
        return new WritError(byOAuth, detail ?? record.error, { reasons })
      }
    }
    return new WritError(status >= 500 ? 'INTERNAL' : 'REQUEST_INVALID', `unexpected response with status ${status}`)
  }
}

function oauthFallback(error: string): ErrorCode {
  switch (error) {
    case 'invalid_client': return 'CLIENT_AUTHENTICATION_FAILED'
    case 'invalid_token': return 'TOKEN_INVALID'
    case 'access_denied': return 'POLICY_DENIED'
    case 'unsupported_grant_type': return 'GRANT_TYPE_UNSUPPORTED'
    case 'invalid_target': return 'TARGET_INVALID'
    case 'slow_down': return 'APPROVAL_SLOW_DOWN'
    case 'authorization_pending': return 'APPROVAL_PENDING'
    case 'expired_token': return 'APPROVAL_EXPIRED'
    case 'invalid_grant': return 'APPROVAL_NOT_FOUND'
    case 'temporarily_unavailable': return 'SERVER_UNAVAILABLE'
    default: return 'REQUEST_INVALID'
  }
}

export function isWritError(value: unknown): value is WritError {
  return value instanceof WritError
}
