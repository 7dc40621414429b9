/** RFC 9449 for grants (docs/threats.md TX-13): a DPoP-bound grant is usable only with a proof by the key it names. */
import { WritError } from '@writ/sdk'
import type { Assertion } from '../tokens/issue-token.js'
import type { Grant } from './grant.js'

/** The refusal for a bound grant presented without a proof by its key, or undefined when the request may use it. */
export function grantBindingRefusal(grant: Grant, assertion: Assertion): WritError | undefined {
  if (grant.cnf === undefined) return undefined
  if (assertion.dpop === undefined) {
    return new WritError('DPOP_PROOF_INVALID', 'the delegation grant is DPoP-bound; send a proof by its key', { reasons: ['dpop_proof_missing'] })
  }
  if (assertion.dpop.jkt !== grant.cnf.jkt) {
    return new WritError('DPOP_PROOF_INVALID', 'the DPoP proof is signed by another key than the grant is bound to', { reasons: ['dpop_key_mismatch'] })
  }
  return undefined
}
