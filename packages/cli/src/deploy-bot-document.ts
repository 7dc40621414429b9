/** An embedded copy of examples/agents/deploy-bot.yaml, for `writ demo` when the examples are not installed. */

export const DEPLOY_BOT_YAML = `# A code agent that runs tests and deploys services (think: a CI-hosted coding assistant).
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
`
