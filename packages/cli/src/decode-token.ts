/** Decodes a token's header and claims for display. Decoding is not verification: resource servers verify. */
import { decodeJwt, decodeProtectedHeader } from 'jose'

export interface DecodedToken {
  header: Record<string, unknown>
  claims: Record<string, unknown>
}

export function decodeToken(token: string): DecodedToken {
  return { header: decodeProtectedHeader(token) as Record<string, unknown>, claims: decodeJwt(token) as Record<string, unknown> }
}
