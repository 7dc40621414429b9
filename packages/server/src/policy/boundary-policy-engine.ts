/** The permission boundary: an agent may only be granted an action its identity document declares as a capability. */
import type { AuthorizationRequest, Decision, PolicyEngine } from './policy-engine.js'

export const BOUNDARY_POLICY_ID = 'writ.boundary.capabilities'

export class BoundaryPolicyEngine implements PolicyEngine {
  decide(request: AuthorizationRequest): Decision {
    if (request.agent.status !== 'active') {
      return { effect: 'deny', reasons: [`agent_not_active:${request.agent.status}`], policies: [BOUNDARY_POLICY_ID] }
    }
    const declared = request.agent.document.capabilities.some((capability) => capability.id === request.action)
    return declared
      ? { effect: 'allow', reasons: [`capability_declared:${request.action}`], policies: [BOUNDARY_POLICY_ID] }
      : { effect: 'deny', reasons: [`capability_not_declared:${request.action}`], policies: [BOUNDARY_POLICY_ID] }
  }
}
