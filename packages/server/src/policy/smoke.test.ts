import { test, expect } from 'vitest'
import { engineWith, requestFor, sampleAgent } from './policy-test.fixture.js'
test('smoke', () => {
  const e = engineWith({ 'default.cedar': 'permit(principal, action, resource);', 'f.cedar': '@id("no-weekend") forbid(principal, action == Writ::Action::"deploy.run", resource) when { context.time.weekday == "saturday" };' })
  const bot = sampleAgent('deploy-bot')
  console.log(e.decide(requestFor(bot, 'deploy.run', 'service:billing')))
  console.log(e.decide(requestFor(bot, 'deploy.run', 'service:billing', { timeMs: Date.UTC(2025, 5, 14, 10) })))
  console.log(e.decide(requestFor(sampleAgent('support-assistant'), 'customer.read', 'crm:customers')))
  console.log(e.decide(requestFor(bot, 'tests.run', 'repo:acme/billing')))
  console.log(e.warnings, e.policies)
})
