/**
 * The sample identity documents, embedded so that `writ agent init` and `writ demo` work when the CLI is installed
 * without the repository. A test keeps each copy byte-equal to examples/agents/<name>.yaml.
 */

export const EXAMPLE_AGENTS = {
  'deploy-bot': `# A code agent that runs tests and deploys services (think: a CI-hosted coding assistant).
name: deploy-bot
owner: platform-lead@example.com
team: platform
platform: claude-code
description: Runs the test suite and deploys approved builds of the billing service.
capabilities:
  - id: tests.run
    description: Run the project's test suite in CI
    risk_level: low
  - id: deploy.run
    description: Deploy a built artifact to a named environment
    risk_level: high
  - id: ssh.login
    description: Log in to a production host to inspect a failed deploy
    risk_level: high
data_access:
  - resource: "repo:acme/billing"
    access_type: read
    sensitivity: internal
  - resource: "service:billing"
    access_type: write
    sensitivity: confidential
tools:
  - tool_id: github.create_pull_request
    mcp_server: github
    permissions: [write]
human_oversight:
  required_for: [deploy.run]
  approvers: [release-manager]
`,
  'sre-responder': `# An autonomous SRE agent: reads alerts, proposes and executes remediations on hosts.
name: sre-responder
owner: oncall-lead@example.com
team: sre
platform: custom
description: Triage alerts and restart failed services on the web fleet.
capabilities:
  - id: alerts.read
    description: Read alerts and dashboards
    risk_level: low
  - id: ssh.login
    description: Log in to web hosts
    risk_level: medium
  - id: sudo.exec
    description: Run one privileged command, such as restarting a systemd unit
    risk_level: critical
data_access:
  - resource: "host:web-*"
    access_type: write
    sensitivity: internal
tools: []
human_oversight:
  required_for: [critical]
  approvers: [sre-oncall]
`,
  'support-assistant': `# A workflow agent in a business tool: reads customer records and updates tickets.
name: customer-support-agent-prod-1
owner: support-team@example.com
team: support
platform: copilot_studio
description: Answers customer tickets; may read CRM records and update tickets.
capabilities:
  - id: email.read
    description: Read the support mailbox
    risk_level: medium
  - id: customer.read
    description: Read customer records in the CRM
    risk_level: medium
  - id: ticket.update
    description: Update the status and notes of a ticket
    risk_level: low
data_access:
  - resource: "crm:customers"
    access_type: read
    sensitivity: confidential
  - resource: "tickets:*"
    access_type: write
    sensitivity: internal
tools:
  - tool_id: crm.lookup
    mcp_server: crm
    permissions: [read]
human_oversight:
  required_for: []
  approvers: []
`,
} as const

export type ExampleAgent = keyof typeof EXAMPLE_AGENTS

/** A commented starting point for a new document; valid as it is, so a first registration succeeds. */
export const AGENT_TEMPLATE = `# An identity document for one agent: \`writ agent register --file agent.yaml --public-key agent.pub.jwk\`.
# Samples to start from: writ agent init --example deploy-bot (or sre-responder, support-assistant).
# The agent's unique name: lowercase letters, digits and . _ -
name: my-agent
# Who answers for the agent (an email); while oversight.forbidOwnerApproval is on, the owner may not approve its requests.
owner: you@example.com
team: my-team
# Where the agent runs, in your words (claude-code, copilot_studio, custom, ...).
platform: custom
description: What the agent does, in one sentence.
# The actions it may ask tokens for; anything else is denied. risk_level: low, medium, high or critical.
capabilities:
  - id: tickets.read
    description: Read support tickets
    risk_level: low
# The resources those actions may touch (globs with *), and the most access each allows: read, write or delete.
data_access:
  - resource: "tickets:*"
    access_type: read
    sensitivity: internal
# MCP tools the agent uses (informational).
tools: []
# Actions or risk levels that wait for a human, and the admin roles (or names) that may approve them.
human_oversight:
  required_for: [high, critical]
  approvers: [approver]
# jwks: added by \`writ agent register --public-key agent.pub.jwk\`; no private key ever goes here.
`
