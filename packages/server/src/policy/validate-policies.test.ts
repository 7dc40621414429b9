import { describe, expect, test } from 'vitest'
import { describeProblem, validatePolicyFiles } from './validate-policies.js'

const ACTIONS = ['deploy.run', 'customer.read']

describe('validatePolicyFiles', () => {
  test('a valid set lists its policies with their ids, effects, actions and holds', () => {
    const result = validatePolicyFiles({
      'b.cedar': 'permit(principal, action, resource);\n\nforbid(principal, action == Writ::Action::"deploy.run", resource);',
      'a.cedar': '@id("prod") @hold("release manager") permit(principal, action in [Writ::Action::"deploy.run", Writ::Action::"customer.read"], resource);',
    }, ACTIONS)
    expect(result).toEqual({
      ok: true, errors: [], warnings: [],
      policies: [
        { id: 'prod', file: 'a.cedar', effect: 'permit', actions: ['customer.read', 'deploy.run'], hold: true },
        { id: 'b.cedar#0', file: 'b.cedar', effect: 'permit', actions: 'all', hold: false },
        { id: 'b.cedar#1', file: 'b.cedar', effect: 'forbid', actions: ['deploy.run'], hold: false },
      ],
    })
  })

  test('an empty set is valid', () => {
    expect(validatePolicyFiles({}, [])).toEqual({ ok: true, errors: [], warnings: [], policies: [] })
    expect(validatePolicyFiles({ 'empty.cedar': '// nothing yet\n' }, [])).toEqual({ ok: true, errors: [], warnings: [], policies: [] })
  })

  test('semicolons and comment markers inside strings and comments do not split policies', () => {
    const result = validatePolicyFiles({
      'a.cedar': '// a comment; with a semicolon\npermit(principal, action, resource) when { context.task.id like "a;b//c\\"; d*" };',
    }, ACTIONS)
    expect(result.errors).toEqual([])
    expect(result.policies.map((p) => p.id)).toEqual(['a.cedar#0'])
  })

  test('policies are type-checked even when no agent and no policy names an action', () => {
    const result = validatePolicyFiles({ 'a.cedar': 'permit(principal, action, resource) when { principal.ownr == "x" };' }, [])
    expect(result.ok).toBe(false)
  })

  type Row = [name: string, files: Record<string, string>, problem: { policy?: string; file?: string; line?: number; column?: number; message: RegExp }]
  const invalid: Row[] = [
    ['a syntax error, named by the policy index and located', { 'a.cedar': 'permit(principal, action, resource);\n\npermit(principal, action, resource) when { 1 + };' },
      { policy: 'a.cedar#1', file: 'a.cedar', line: 3, column: 48, message: /unexpected token `}`/ }],
    ['a syntax error in a policy with an @id, named by it', { 'a.cedar': '@id("broken")\npermit(principal, action resource);' },
      { policy: 'broken', file: 'a.cedar', line: 2, column: 26, message: /unexpected token `resource`/ }],
    ['a missing semicolon at the end', { 'a.cedar': 'permit(principal, action, resource)' },
      { policy: 'a.cedar#0', file: 'a.cedar', line: 1, message: /unexpected end of input/ }],
    ['an unknown attribute', { 'a.cedar': '// the owner\n@id("owner-check")\npermit(principal, action, resource)\n  when { principal.ownr == "x" };' },
      { policy: 'owner-check', file: 'a.cedar', line: 4, column: 10, message: /attribute `ownr` on entity type `Writ::Agent` not found.*did you mean `owner`/ }],
    ['an unknown context member', { 'a.cedar': 'permit(principal, action, resource) when { context.hours > 9 };' },
      { policy: 'a.cedar#0', line: 1, message: /attribute `hours`/ }],
    ['a type error', { 'a.cedar': 'permit(principal, action, resource) when { context.time.hour > "nine" };' },
      { policy: 'a.cedar#0', line: 1, message: /expected Long but saw String/ }],
    ['an optional attribute read without `has`', { 'a.cedar': 'permit(principal, action, resource) when { context.task.purpose like "*JIRA-*" };' },
      { policy: 'a.cedar#0', line: 1, column: 44, message: /optional attribute `task.purpose`.*context.task has purpose/ }],
    ['an entity type that does not exist', { 'a.cedar': 'permit(principal is Writ::Robot, action, resource);' },
      { policy: 'a.cedar#0', message: /Writ::Robot/ }],
    ['a template', { 'a.cedar': 'permit(principal == ?principal, action, resource);' },
      { policy: 'a.cedar#0', message: /template/ }],
    ['an @id without a value', { 'a.cedar': '@id permit(principal, action, resource);' },
      { policy: 'a.cedar#0', message: /`@id` needs a non-empty value/ }],
    ['an @id reserved for writ', { 'a.cedar': '@id("writ.boundary") permit(principal, action, resource);' },
      { policy: 'a.cedar#0', message: /reserved for writ/ }],
    ['a duplicate id across files', { 'a.cedar': '@id("same") permit(principal, action, resource);', 'b.cedar': '\n@id("same") forbid(principal, action, resource);' },
      { policy: 'same', file: 'b.cedar', line: 2, column: 1, message: /duplicate policy id `same`, first used at a\.cedar:1:1/ }],
    ['a location after non-ASCII text, in characters', { 'a.cedar': '// règle pour l’équipe\npermit(principal, action, resource) when { principal.ownr == "é" };' },
      { policy: 'a.cedar#0', line: 2, column: 44, message: /ownr/ }],
  ]
  test.each(invalid)('refuses %s', (_name, files, problem) => {
    const result = validatePolicyFiles(files, ACTIONS)
    expect(result.ok).toBe(false)
    expect(result.errors).toEqual([expect.objectContaining({ ...problem, message: expect.stringMatching(problem.message) })])
  })

  test('every problem is reported, not only the first', () => {
    const result = validatePolicyFiles({
      'a.cedar': 'permit(principal, action, resource) when { principal.ownr == "x" };\npermit(principal, action, resource) when { 1 + };',
      'b.cedar': 'permit(principal, action, resource) when { context.hours > 9 };',
    }, ACTIONS)
    // Cedar's validator reports in its own order, which moves with the schema text; the claim is that all are there.
    expect(result.errors.map((e) => e.policy).sort()).toEqual(['a.cedar#0', 'a.cedar#1', 'b.cedar#0'])
  })

  test('an action no registered agent declares is a warning, not an error', () => {
    const result = validatePolicyFiles({ 'a.cedar': '@id("early") permit(principal, action == Writ::Action::"report.build", resource) when { action == Writ::Action::"report.send" || true };' }, ACTIONS)
    expect(result.ok).toBe(true)
    expect(result.warnings).toEqual([
      { policy: 'early', file: 'a.cedar', line: 1, column: 1, message: 'action `report.build` is not declared by any registered agent' },
      { policy: 'early', file: 'a.cedar', line: 1, column: 1, message: 'action `report.send` is not declared by any registered agent' },
    ])
  })

  test('a policy that can never apply is a warning', () => {
    const result = validatePolicyFiles({ 'a.cedar': 'permit(principal, action, resource) when { false };' }, ACTIONS)
    expect(result.ok).toBe(true)
    expect(result.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/impossible/)])
  })
})

describe('describeProblem', () => {
  test('names the policy, the file and the location', () => {
    expect(describeProblem({ policy: 'p', file: 'a.cedar', line: 3, column: 7, message: 'bad' })).toBe('`p` (a.cedar:3:7): bad')
    expect(describeProblem({ file: 'a.cedar', message: 'bad' })).toBe('(a.cedar): bad')
    expect(describeProblem({ message: 'bad' })).toBe('bad')
  })
})
