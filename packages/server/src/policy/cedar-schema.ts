/** The published Cedar schema (namespace `Writ`) that every policy is validated against; users write against these names. */

export const CEDAR_NAMESPACE = 'Writ'
export const AGENT_TYPE = 'Writ::Agent'
export const HUMAN_TYPE = 'Writ::Human'
export const RESOURCE_TYPE = 'Writ::Resource'
export const HOST_TYPE = 'Writ::Host'
export const ACTION_TYPE = 'Writ::Action'

// STABLE: these names are a public contract (docs/policy.md); add members, never rename or retype them.
const SCHEMA_HEAD = `namespace Writ {
  // The acting agent, from its identity document and registry record. Entity id: the agent id.
  entity Agent = {
    name: String,              // registry name
    owner: String,             // the owner's email
    team: String,
    platform: String,
    status: String,            // active | suspended | retired (only active agents reach policy)
    capabilities: Set<String>, // declared capability ids
    risk_levels: Set<String>,  // distinct risk levels of the declared capabilities
  };

  // The delegating human, when the agent acts on delegated authority. Entity id: the human's id.
  entity Human = {
    groups: Set<String>,
  };

  // An enrolled Linux host, when the resource is \`host:<name>\` (context.target_host). Entity id: the host name.
  entity Host = {
    name: String,
    labels: Set<String>,       // "key=value" strings, e.g. "env=staging"
  };

  // The target of the action. Entity id: the whole resource string.
  entity Resource = {
    "type": String,            // the part before the first ':' ("service" for "service:billing"), or the whole string
    id: String,                // the whole resource string ("service:billing")
    sensitivity: String,       // public | internal | confidential | restricted, from the identity document
  };

  type Time = {
    hour: Long,                // 0-23, in the configured time zone
    minute: Long,              // 0-59
    weekday: String,           // lowercase English name: "monday" ... "sunday"
    date: String,              // YYYY-MM-DD
  };

  type Task = {
    id: String,
    purpose?: String,          // free text from the token request (task_purpose)
  };

  type Context = {
    time: Time,
    source_ip?: ipaddr,        // the caller's address, when known
    host?: String,             // the host the action runs on, when known
    task: Task,
    step_id?: String,          // the plan step, when given
    delegation_depth: Long,    // hops between the delegating human and this agent; 0 when not delegated
    delegating: Bool,          // true while a human delegates this action to the agent; false when the agent acts
    risk_level: String,        // the agent's declared risk level for this capability
    access_type: String,       // read | write | delete: as the request states it, else inferred from the action id
    human?: Human,             // the delegating human, when there is one
    audience: String,          // the token's \`aud\`: a resource server's audience, Writ's issuer for a delegation grant
    resource_server?: String,  // the registered resource server's name, when the audience belongs to one
    target_host?: Host,        // the enrolled, active host of a \`host:<name>\` resource
  };
`

/** The schema text for the given actions (deduplicated and sorted, so the text is stable). */
export function cedarSchemaText(actions: readonly string[]): string {
  const lines = [...new Set(actions)].sort().map(
    (action) => `  action ${cedarString(action)} appliesTo { principal: [Agent], resource: [Resource], context: Context };`,
  )
  return `${SCHEMA_HEAD}\n  // One action per declared capability id and per action named in a policy.\n${lines.join('\n')}\n}\n`
}

/** A Cedar string literal: quotes, backslashes and control characters escaped. */
export function cedarString(value: string): string {
  // eslint-disable-next-line no-control-regex
  const escaped = value.replace(/[\\"]/g, '\\$&').replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`)
  return `"${escaped}"`
}
