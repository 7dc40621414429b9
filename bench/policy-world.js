/**
 * bench/policy-world: the deterministic world bench/policy.js decides in (200 actions over 20 services, 12 resource
 * types, 20 agents, policy sets shaped like an operator's), shared with the test that checks every policy compiles.
 */

let seed = 0x5eed
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}
const pick = (list) => list[Math.floor(random() * list.length)]
const int = (min, max) => min + Math.floor(random() * (max - min + 1))

const SERVICES = ['billing', 'crm', 'tickets', 'deploy', 'hosts', 'repo', 'db', 'bucket', 'mail', 'search', 'ledger', 'hr', 'ads', 'cdn',
  'queue', 'metrics', 'secrets', 'dns', 'cache', 'wiki']
const VERBS = ['read', 'list', 'get', 'search', 'write', 'update', 'create', 'run', 'restart', 'delete']
const ACTIONS = SERVICES.flatMap((service) => VERBS.map((verb) => `${service}.${verb}`)) // 200
const TYPES = ['service', 'host', 'repo', 'crm', 'tickets', 'db', 'bucket', 'mailbox', 'dns', 'queue', 'wiki', 'ledger']
const SENSITIVITIES = ['public', 'internal', 'confidential', 'restricted']
const RISKS = ['low', 'medium', 'high', 'critical']
const TEAMS = ['platform', 'sre', 'support', 'data', 'finance']
const PLATFORMS = ['claude-code', 'custom', 'copilot_studio', 'langgraph']
const AGENTS = 20

export const agents = Array.from({ length: AGENTS }, (_, i) => {
  const capabilities = [...new Set(Array.from({ length: int(20, 40) }, () => pick(ACTIONS)))]
    .map((id) => ({ id, description: '', risk_level: pick(RISKS) }))
  const data_access = TYPES.flatMap((type) => [
    { resource: `${type}:*`, access_type: pick(['read', 'write', 'delete']), sensitivity: pick(SENSITIVITIES) },
    { resource: `${type}:prod-${i}`, access_type: 'delete', sensitivity: pick(SENSITIVITIES) },
  ])
  const document = {
    name: `agent-${i}`, owner: `owner${i}@example.com`, team: pick(TEAMS), platform: pick(PLATFORMS), description: '',
    capabilities, data_access, tools: [], human_oversight: { required_for: i % 4 === 0 ? ['critical'] : [], approvers: [] }, jwks: { keys: [] },
  }
  return { id: `agt_${i}`, name: document.name, status: 'active', version: 1, document, created_at: '', updated_at: '' }
})

/**
 * A set of `size` policies shaped like an operator's: a few organisation-wide guards, then mostly rules about one action
 * (or a few), some about one resource type or one agent; conditions on time, purpose, sensitivity, address, team, depth.
 */
export function policySet(size) {
  const conditions = [
    () => `context.time.hour >= ${int(6, 9)} && context.time.hour < ${int(17, 20)}`,
    () => `!(["saturday", "sunday"].contains(context.time.weekday))`,
    () => `resource.sensitivity != "${pick(SENSITIVITIES)}"`,
    () => `context.task has purpose && context.task.purpose like "*JIRA-*"`,
    () => `context.delegation_depth <= ${int(0, 2)}`,
    () => `context has source_ip && context.source_ip.isInRange(ip("10.${int(0, 255)}.0.0/16"))`,
    () => `context.access_type == "${pick(['read', 'write', 'delete'])}"`,
    () => `resource.id like "*prod*"`,
    () => `principal.risk_levels.contains("${pick(RISKS)}")`,
    () => `principal.platform != "${pick(PLATFORMS)}"`,
  ]
  const when = () => Array.from({ length: int(1, 3) }, () => pick(conditions)()).join(' && ')
  const lines = [
    '@id("org-offboarded") forbid(principal, action, resource) when { ["gone1@example.com", "gone2@example.com"].contains(principal.owner) };',
    '@id("org-depth") forbid(principal, action, resource) when { context.delegation_depth > 2 };',
    '@id("org-restricted-ticket") forbid(principal, action, resource) when { resource.sensitivity == "restricted" && !(context.task has purpose && context.task.purpose like "*JIRA-*") };',
    '@id("org-default") permit(principal, action, resource) when { context.access_type == "read" };',
  ]
  for (let n = lines.length; n < size; n++) {
    const r = random()
    if (r < 0.70) {
      const hold = random() < 0.05 ? '@hold("needs a human") ' : ''
      const team = random() < 1 / 3 ? `principal.team == "${pick(TEAMS)}" && ` : ''
      lines.push(`${hold}@id("p-${n}") permit(principal, action == Writ::Action::"${pick(ACTIONS)}", resource) when { ${team}${when()} };`)
    } else if (r < 0.80) {
      lines.push(`@id("f-${n}") forbid(principal, action == Writ::Action::"${pick(ACTIONS)}", resource) unless { ${when()} };`)
    } else if (r < 0.90) {
      const actions = [...new Set([pick(ACTIONS), pick(ACTIONS), pick(ACTIONS)])].map((a) => `Writ::Action::"${a}"`)
      lines.push(`@id("l-${n}") permit(principal, action in [${actions.join(', ')}], resource) when { ${when()} };`)
    } else if (r < 0.95) {
      lines.push(`@id("t-${n}") forbid(principal, action, resource) when { resource.type == "${pick(TYPES)}" && ${when()} };`)
    } else {
      lines.push(`@id("a-${n}") permit(principal == Writ::Agent::"agt_${int(0, AGENTS - 1)}", action, resource) when { ${when()} };`)
    }
  }
  const files = {}
  for (let i = 0; i < size; i += 50) files[`set-${i / 50}.cedar`] = lines.slice(i, i + 50).join('\n')
  return files
}

/** `count` requests; `keep(request)` says which to keep (the bench keeps those inside the permission boundary). */
export function requests(count, keep) {
  const list = []
  while (list.length < count) {
    const agent = pick(agents)
    const capability = pick(agent.document.capabilities)
    const type = pick(TYPES)
    const resource = random() < 0.3 ? `${type}:prod-${agent.id.slice(4)}` : `${type}:${pick(['alpha', 'beta', 'gamma', 'prod-eu'])}`
    const request = {
      agent, action: capability.id, resource,
      task: { id: `task-${int(1, 1000)}`, ...(random() < 0.6 ? { purpose: random() < 0.5 ? 'fix JIRA-123 in billing' : 'weekly report' } : {}) },
      timeMs: Date.UTC(2025, 5, int(9, 15), int(0, 23), int(0, 59)),
      sourceIp: `10.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
      delegationDepth: int(0, 3),
      ...(random() < 0.3 ? { human: { id: `human-${int(1, 20)}`, groups: [pick(TEAMS)] } } : {}),
    }
    if (keep(request)) list.push(request)
  }
  return list
}
