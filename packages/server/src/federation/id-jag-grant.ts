/**
 * An Identity Assertion JWT Authorization Grant (draft-ietf-oauth-identity-assertion-authz-grant, MCP's
 * enterprise-managed authorization) on the RFC 7523 jwt-bearer grant: the enterprise identity provider asserts that a
 * user lets this agent act at Writ. The agent authenticates as usual; the answer is a delegation grant with `sub` = the
 * user and `may_act` = the agent, exactly as from the token exchange of that user's ID token.
 */
import { ID_JAG_TYP, WritError } from '@writ/sdk'
import { exchangeHumanToken, type HumanExchangeDeps, type HumanTokenExchange } from '../delegation/exchange-human-token.js'
import type { IssuedGrant } from '../delegation/issue-grant.js'
import { parseHumanTokenExchange } from '../delegation/token-exchange.js'
import type { ClientAuthenticationInput } from '../tokens/client-authentication.js'
import { peekTyp } from './external-token-verifier.js'

/** True when the assertion says it is an ID-JAG; the verifier then requires exactly that (and everything else). */
export function isIdJag(assertion: string | undefined): boolean {
  return assertion !== undefined && peekTyp(assertion) === ID_JAG_TYP
}

export async function idJagGrant(
  client: ClientAuthenticationInput & { dpop?: string }, form: Map<string, string>, sourceIp: string | undefined, deps: HumanExchangeDeps,
): Promise<IssuedGrant> {
  return exchangeHumanToken(client, () => parseIdJagGrant(form), sourceIp, deps)
}

/** The grant's fields are those of a human token exchange, with the ID-JAG in `assertion` instead of `subject_token`. */
function parseIdJagGrant(form: Map<string, string>): HumanTokenExchange {
  const assertion = form.get('assertion')
  if (!assertion) throw new WritError('REQUEST_INVALID', 'assertion is required')
  if (form.has('subject_token')) throw new WritError('REQUEST_INVALID', 'an ID-JAG grant carries the assertion only, not a subject_token')
  const fields = new Map(form)
  fields.set('subject_token', assertion)
  return parseHumanTokenExchange(fields, 'id-jag')
}
