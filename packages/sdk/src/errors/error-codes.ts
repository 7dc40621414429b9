/** The one table of Writ's stable error codes, shared by server, SDK and CLI. */

export interface ErrorCodeSpec {
  /** HTTP status the server answers with. */
  status: number
  /** Short human title, stable per code (RFC 9457 `title`). */
  title: string
  /** The OAuth 2.0 `error` value used on `/oauth/*` (RFC 6749 §5.2, RFC 6750 §3.1). */
  oauth: string
}

// Codes are SCREAMING_SNAKE noun + state. They are a public contract: add, never rename.
export const ERROR_CODES = {
  REQUEST_INVALID: { status: 400, title: 'The request is malformed', oauth: 'invalid_request' },
  REQUEST_TOO_LARGE: { status: 413, title: 'The request body is too large', oauth: 'invalid_request' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large', oauth: 'invalid_request' },
  CONTENT_TYPE_UNSUPPORTED: { status: 415, title: 'The content type is not supported', oauth: 'invalid_request' },
  GRANT_TYPE_UNSUPPORTED: { status: 400, title: 'The grant type is not supported', oauth: 'unsupported_grant_type' },
  AUTHORIZATION_DETAILS_INVALID: { status: 400, title: 'The authorization details are invalid', oauth: 'invalid_authorization_details' },
  TARGET_INVALID: { status: 400, title: 'The requested audience is not allowed', oauth: 'invalid_target' },
  CLIENT_AUTHENTICATION_FAILED: { status: 401, title: 'Client authentication failed', oauth: 'invalid_client' },
  CLIENT_ASSERTION_REPLAYED: { status: 401, title: 'The client assertion was already used', oauth: 'invalid_client' },
  AGENT_NOT_FOUND: { status: 404, title: 'The agent does not exist', oauth: 'invalid_client' },
  AGENT_NOT_ACTIVE: { status: 403, title: 'The agent is not active', oauth: 'unauthorized_client' },
  AGENT_NAME_TAKEN: { status: 409, title: 'The agent name is already in use', oauth: 'invalid_request' },
  AGENT_RETIRED: { status: 409, title: 'The agent is retired', oauth: 'invalid_request' },
  AGENT_STATUS_CONFLICT: { status: 409, title: 'The agent is not in a state that allows this change', oauth: 'invalid_request' },
  AGENT_DOCUMENT_INVALID: { status: 400, title: 'The identity document is invalid', oauth: 'invalid_request' },
  POLICY_DENIED: { status: 403, title: 'Policy denied the request', oauth: 'access_denied' },
  POLICY_INVALID: { status: 400, title: 'The policy set is invalid', oauth: 'invalid_request' },
  POLICY_SET_NOT_FOUND: { status: 404, title: 'The policy set version does not exist', oauth: 'invalid_request' },
  APPROVAL_PENDING: { status: 400, title: 'The request waits for a human approval', oauth: 'authorization_pending' },
  APPROVAL_SLOW_DOWN: { status: 400, title: 'Polling faster than the interval allows', oauth: 'slow_down' },
  APPROVAL_DENIED: { status: 400, title: 'A human denied the request', oauth: 'access_denied' },
  APPROVAL_EXPIRED: { status: 400, title: 'The approval request expired', oauth: 'expired_token' },
  APPROVAL_NOT_FOUND: { status: 400, title: 'No such approval request for this agent', oauth: 'invalid_grant' },
  APPROVAL_ALREADY_DECIDED: { status: 409, title: 'The approval request was already decided', oauth: 'invalid_grant' },
  APPROVER_NOT_ALLOWED: { status: 403, title: 'This admin may not decide this approval', oauth: 'insufficient_scope' },
  ADMIN_UNAUTHENTICATED: { status: 401, title: 'An admin credential is required', oauth: 'invalid_token' },
  ADMIN_FORBIDDEN: { status: 403, title: 'The admin credential lacks the required role', oauth: 'insufficient_scope' },
  ADMIN_NOT_FOUND: { status: 404, title: 'The admin credential does not exist', oauth: 'invalid_request' },
  ADMIN_REVOKED: { status: 409, title: 'The admin credential is already revoked', oauth: 'invalid_request' },
  ADMIN_LAST_ACTIVE: { status: 409, title: 'The last active admin credential cannot be revoked', oauth: 'invalid_request' },
  TOKEN_INVALID: { status: 401, title: 'The token is invalid', oauth: 'invalid_token' },
  TOKEN_EXPIRED: { status: 401, title: 'The token has expired', oauth: 'invalid_token' },
  TOKEN_REVOKED: { status: 401, title: 'The token has been revoked', oauth: 'invalid_token' },
  TOKEN_TOO_LARGE: { status: 401, title: 'The token is too large', oauth: 'invalid_token' },
  TOKEN_SCOPE_MISMATCH: { status: 403, title: 'The token does not grant this action on this resource', oauth: 'insufficient_scope' },
  DPOP_PROOF_INVALID: { status: 400, title: 'The DPoP proof is missing or invalid', oauth: 'invalid_dpop_proof' },
  GRANT_INVALID: { status: 400, title: 'The delegation grant is invalid', oauth: 'invalid_grant' },
  GRANT_REVOKED: { status: 400, title: 'The delegation grant or one it derives from is revoked', oauth: 'invalid_grant' },
  TASK_REVOKED: { status: 403, title: 'The task is revoked', oauth: 'access_denied' },
  SIGNING_KEY_NOT_FOUND: { status: 404, title: 'No signing key has that id', oauth: 'invalid_request' },
  STREAM_LIMIT_REACHED: { status: 503, title: 'Too many revocation streams are open', oauth: 'temporarily_unavailable' },
  GRANT_NOT_FOUND: { status: 404, title: 'The delegation grant does not exist', oauth: 'invalid_grant' },
  GRANT_SCOPE_EXCEEDED: { status: 400, title: 'The request exceeds what the delegation grant covers', oauth: 'invalid_scope' },
  DELEGATION_DEPTH_EXCEEDED: { status: 400, title: 'The delegation chain would be too deep', oauth: 'invalid_grant' },
  DELEGATION_LOOP: { status: 400, title: 'The agent already appears in the delegation chain', oauth: 'invalid_grant' },
  TOKEN_TYPE_UNSUPPORTED: { status: 400, title: 'The token type is not supported here', oauth: 'invalid_request' },
  HUMAN_ISSUER_UNTRUSTED: { status: 400, title: 'No trusted human issuer is configured', oauth: 'invalid_grant' },
  KEY_NOT_FOUND: { status: 401, title: 'No key matches the token', oauth: 'invalid_token' },
  EXTERNAL_TOKEN_INVALID: { status: 400, title: 'The external token is invalid or matches no identity', oauth: 'invalid_grant' },
  TRUST_PROVIDER_UNAVAILABLE: { status: 503, title: 'A trusted identity provider cannot be reached', oauth: 'temporarily_unavailable' },
  REVOCATION_STALE: { status: 503, title: 'The revocation list is not known to be current', oauth: 'temporarily_unavailable' },
  JWKS_UNAVAILABLE: { status: 503, title: 'The key set could not be fetched', oauth: 'temporarily_unavailable' },
  RATE_LIMITED: { status: 429, title: 'Too many requests', oauth: 'slow_down' },
  NOT_FOUND: { status: 404, title: 'No such resource', oauth: 'invalid_request' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed', oauth: 'invalid_request' },
  AUDIT_UNAVAILABLE: { status: 503, title: 'The audit log cannot be written; nothing was issued', oauth: 'temporarily_unavailable' },
  AUDIT_CHAIN_BROKEN: { status: 503, title: 'The audit chain does not verify', oauth: 'temporarily_unavailable' },
  CONFIG_INVALID: { status: 500, title: 'The configuration is invalid', oauth: 'server_error' },
  STORAGE_UNAVAILABLE: { status: 503, title: 'Storage is unavailable', oauth: 'temporarily_unavailable' },
  SERVER_UNAVAILABLE: { status: 503, title: 'The server is shutting down or overloaded', oauth: 'temporarily_unavailable' },
  LISTEN_FAILED: { status: 503, title: 'The server cannot listen on its address', oauth: 'temporarily_unavailable' },
  DATA_DIR_LOCKED: { status: 503, title: 'The data directory is in use by another server', oauth: 'temporarily_unavailable' },
  RESOURCE_SERVER_NOT_FOUND: { status: 404, title: 'The resource server does not exist', oauth: 'invalid_request' },
  RESOURCE_SERVER_DOCUMENT_INVALID: { status: 400, title: 'The resource server document is invalid', oauth: 'invalid_request' },
  RESOURCE_SERVER_CONFLICT: { status: 409, title: 'The resource server name or audience is already in use', oauth: 'invalid_request' },
  RESOURCE_SERVER_REMOVED: { status: 409, title: 'The resource server is removed', oauth: 'invalid_request' },
  HOST_NOT_FOUND: { status: 404, title: 'The host is not enrolled or was removed', oauth: 'invalid_target' },
  HOST_ENROLLMENT_INVALID: { status: 400, title: 'The host enrollment request is invalid', oauth: 'invalid_request' },
  HOST_JOIN_TOKEN_INVALID: { status: 401, title: 'The join token is unknown, expired or already used', oauth: 'invalid_grant' },
  HOST_CONFLICT: { status: 409, title: 'The host name is already in use (names are never reused)', oauth: 'invalid_request' },
  HOST_REMOVED: { status: 409, title: 'The host is removed', oauth: 'invalid_request' },
  HOST_ACTION_REPORT_INVALID: { status: 400, title: 'The host action report is invalid', oauth: 'invalid_request' },
  SCOPE_INVALID: { status: 400, title: 'The requested scope is invalid or not allowed for this client', oauth: 'invalid_scope' },
  CLIENT_UNAUTHORIZED: { status: 400, title: 'The client may not use this grant', oauth: 'unauthorized_client' },
  INTERNAL: { status: 500, title: 'Internal error', oauth: 'server_error' },
} as const satisfies Record<string, ErrorCodeSpec>

export type ErrorCode = keyof typeof ERROR_CODES

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value)
}
