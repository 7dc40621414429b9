/** Decodes a token's header and claims for display. Decoding is not verification: resource servers verify. */
import { decodeJwt, decodeProtectedHeader } from 'jose'

export interface DecodedToken {
  header: Record<string, unknown>
  claims: Record<string, unknown>
}

export function decodeToken(token: string): DecodedToken {
  return { header: decodeProtectedHeader(token) as Record<string, unknown>, claims: decodeJwt(token) as Record<string, unknown> }
}

/**
 * Who a token is for and who acts, in words: `sub`, the RFC 8693 `act` chain (outermost = the current actor) and the
 * DPoP binding, the three things a resource server's log should show.
 */
export function tokenSummary(claims: Record<string, unknown>): string[] {
  const lines = [`sub     ${String(claims.sub)}`]
  const actors: string[] = []
  for (let node = claims.act as { sub?: unknown; act?: unknown } | undefined; node && actors.length < 16; node = node.act as typeof node) actors.push(String(node.sub))
  const mayAct = (claims.may_act as { sub?: unknown } | undefined)?.sub
  if (mayAct !== undefined) lines.push(`may_act ${String(mayAct)}`)
  lines.push(`act     ${actors.length === 0 ? '-' : actors.join(' ← ')}`)
  const jkt = (claims.cnf as { jkt?: unknown } | undefined)?.jkt
  lines.push(`cnf     ${jkt === undefined ? '- (bearer)' : `jkt ${String(jkt)}`}`)
  if (claims.parent !== undefined) lines.push(`parent  ${String(claims.parent)}`)
  return lines
}
