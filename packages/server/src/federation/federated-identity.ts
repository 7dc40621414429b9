/** Which agent document, if any, an external workload token maps to: provider, exact `sub`, and every listed claim. */
import { isDeepStrictEqual } from 'node:util'
import type { AgentDocument } from '../agents/agent-document.js'
import type { TrustProvider } from './trust-providers.js'

type Claims = Record<string, unknown>

/** The document's entry that the verified claims satisfy, or undefined. */
export function matchFederatedIdentity(document: AgentDocument, provider: TrustProvider, claims: Claims): AgentDocument['federated_identities'][number] | undefined {
  return document.federated_identities.find((identity) => identity.provider === provider.name
    && identity.subject === claims.sub
    && Object.entries(identity.claims ?? {}).every(([name, expected]) => claimMatches(claims[name], expected)))
}

/**
 * A listed scalar or list must be equal; a listed object must be matched member by member, so a document can pin
 * `kubernetes.io: { namespace: prod, serviceaccount: { name: deployer } }` without naming the pod, as in the real token.
 */
function claimMatches(actual: unknown, expected: unknown): boolean {
  if (isPlainObject(expected)) {
    return isPlainObject(actual) && Object.entries(expected).every(([name, value]) => Object.hasOwn(actual, name) && claimMatches(actual[name], value))
  }
  return isDeepStrictEqual(actual, expected)
}

function isPlainObject(value: unknown): value is Claims {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The claim shape each platform's real tokens have; a token of another shape is refused for that provider kind. */
export function kindShapeProblem(provider: TrustProvider, claims: Claims): string | undefined {
  const sub = claims.sub as string
  if (provider.kind === 'github-actions') {
    if (typeof claims.repository !== 'string' || !sub.startsWith('repo:')) return 'github_actions_claims_missing'
  }
  if (provider.kind === 'kubernetes') {
    const k8s = claims['kubernetes.io']
    const namespace = isPlainObject(k8s) ? k8s.namespace : undefined
    const account = isPlainObject(k8s) && isPlainObject(k8s.serviceaccount) ? k8s.serviceaccount.name : undefined
    // The API server writes both; a token whose sub disagrees with its own claim was not minted by it.
    if (typeof namespace !== 'string' || typeof account !== 'string' || sub !== `system:serviceaccount:${namespace}:${account}`) {
      return 'kubernetes_claims_invalid'
    }
  }
  return undefined
}
