import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { policyToJson, preparsePolicySet, statefulIsAuthorized } from './cedar-wasm.js'
import { parseCedarIp } from './cedar-ip.js'
import type { CedarRequest } from './cedar-request.js'
import { envOf, NeedsReference } from './cedar-value.js'
import { compilePolicy } from './compile-policy.js'

const request: CedarRequest = {
  principal: { type: 'Writ::Agent', id: 'a' },
  action: { type: 'Writ::Action', id: 'x.run' },
  resource: { type: 'Writ::Resource', id: 'svc:one' },
  context: {
    s: 'a😀b', star: 'a*b', n: 1, depth: 0, tags: ['x', 'y'],
    task: { id: 't', nested: { deep: true } },
    v4: { __extn: { fn: 'ip', arg: '10.1.2.3' } }, v6: { __extn: { fn: 'ip', arg: '2001:db8::1' } },
    user: { __entity: { type: 'Writ::Human', id: 'h' } },
  },
  entities: [
    { uid: { type: 'Writ::Agent', id: 'a' }, attrs: { name: 'agent', caps: ['a', 'b'] }, parents: [{ type: 'Writ::Group', id: 'g' }] },
    { uid: { type: 'Writ::Group', id: 'g' }, attrs: {}, parents: [{ type: 'Writ::Group', id: 'top' }] },
    { uid: { type: 'Writ::Resource', id: 'svc:one' }, attrs: { type: 'svc' }, parents: [] },
  ],
}

let serial = 0
function policyOf(condition: string): PolicyJson {
  const parsed = policyToJson(`permit(principal, action, resource) when { ${condition} };`)
  if (parsed.type === 'failure') throw new Error(`test condition does not parse: ${condition}`)
  return parsed.json
}

/** What cedar-wasm makes of the condition: satisfied, not satisfied, or an evaluation error. */
function cedar(condition: string): 'true' | 'false' | 'error' {
  const setId = `compile-policy-test-${serial++}`
  const parsed = preparsePolicySet(setId, { staticPolicies: { p: `permit(principal, action, resource) when { ${condition} };` } })
  if (parsed.type === 'failure') throw new Error(`cedar refuses ${condition}`)
  try {
    const answer = statefulIsAuthorized({ ...request, preparsedPolicySetId: setId })
    if (answer.type === 'failure') throw new Error(`cedar fails on ${condition}`)
    if (answer.response.diagnostics.errors.length > 0) return 'error'
    return answer.response.decision === 'allow' ? 'true' : 'false'
  } finally {
    preparsePolicySet(setId, { staticPolicies: {} })
  }
}

/** What the compiled policy makes of it: a value, a hand-over to cedar-wasm, or no compilation at all. */
function compiled(condition: string): 'true' | 'false' | 'reference' | 'unsupported' {
  const satisfied = compilePolicy(policyOf(condition))
  if (satisfied === undefined) return 'unsupported'
  try {
    return satisfied(envOf(request)) ? 'true' : 'false'
  } catch (error) {
    if (error instanceof NeedsReference) return 'reference'
    throw error
  }
}

// [condition, the compiled outcome]; cedar-wasm must agree: the same value, or an error where the request is handed over.
const semantics: [string, 'true' | 'false' | 'reference'][] = [
  ['context.star like "a\\*b"', 'true'],
  ['context.s like "a\\*b"', 'false'],
  ['"a**b" like "a\\**b"', 'true'],
  ['context.s like "a*b"', 'true'],
  ['context.s like "*😀*"', 'true'],
  ['context.s like "a😀*"', 'true'],
  ['context.s like "a*😀b"', 'true'],
  ['"x😀" like "*😀" && !("x😀" like "*x")', 'true'],
  ['"aba" like "ab*ba"', 'false'],
  ['"abba" like "ab*ba"', 'true'],
  ['"" like "*"', 'true'],
  ['"abc" like "a**c"', 'true'],
  ['"xaxb" like "*a*b"', 'true'],
  ['"xaxbx" like "*a*b"', 'false'],
  ['context.v4.isInRange(ip("10.0.0.0/8"))', 'true'],
  ['context.v4.isInRange(ip("10.1.2.3/32"))', 'true'],
  ['context.v4.isInRange(ip("10.1.2.4/31"))', 'false'],
  ['context.v4.isInRange(ip("0.0.0.0/0"))', 'true'],
  ['context.v4.isInRange(ip("::/0"))', 'false'],
  ['ip("::ffff:a01:203").isInRange(ip("10.0.0.0/8"))', 'false'],
  ['context.v6.isInRange(ip("2001:db8::/32"))', 'true'],
  ['context.v6.isInRange(ip("2001:db9::/32"))', 'false'],
  ['ip("10.0.0.0/7").isInRange(ip("10.0.0.0/8"))', 'false'],
  ['ip("10.0.0.1/8").isInRange(ip("10.255.0.0/8"))', 'true'],
  ['ip("10.0.0.1/8") == ip("10.0.0.0/8")', 'false'],
  ['ip("::1") == ip("0:0::1")', 'true'],
  ['ip("10.1.2.3/32") == context.v4', 'true'],
  ['ip("127.0.0.1/8").isLoopback() && !ip("127.0.0.1/7").isLoopback() && !ip("::1/127").isLoopback()', 'true'],
  ['ip("::ffff:7f00:1").isLoopback()', 'false'],
  ['ip("224.1.0.0/4").isMulticast() && !ip("224.1.0.0/3").isMulticast() && ip("ff02::1").isMulticast()', 'true'],
  ['context.v4.isIpv4() && context.v6.isIpv6() && !context.v6.isIpv4()', 'true'],
  ['ip(context.star).isIpv4()', 'reference'],
  ['[1, 2, 2] == [2, 1]', 'true'],
  ['[[1], [2, 3]] == [[3, 2], [1]]', 'true'],
  ['{ a: [1, 2] } == { a: [2, 1] }', 'true'],
  ['{ a: 1 } == { a: 1, b: 2 }', 'false'],
  ['[1] == 1 || 1 == "1" || principal == resource', 'false'],
  ['context.tags == ["y", "x"] && context.tags.containsAll(["x"]) && context.tags.containsAny(["z", "y"]) && !context.tags.isEmpty()', 'true'],
  ['context.user == Writ::Human::"h" && context.user != Writ::Human::"i"', 'true'],
  ['context.n * 9007199254740991 * 2048 > 0', 'reference'],
  ['context.n + 9007199254740991 > 0', 'reference'],
  ['-context.n - 9007199254740990 < 0', 'true'],
  ['context.n * 4 - 5 == -1', 'true'],
  ['context.task.purpose == "x"', 'reference'],
  ['Writ::Agent::"nobody".name == "x"', 'reference'],
  ['principal.name == "agent" && Writ::Agent::"a".caps.contains("b")', 'true'],
  ['context has task.id && context has task.nested.deep && !(context has task.purpose) && !(context has nothing.purpose)', 'true'],
  ['!(Writ::Agent::"nobody" has name) && principal has name && !(principal has id)', 'true'],
  ['context.n has x', 'reference'],
  ['false && context.task.purpose == "x"', 'false'],
  ['true || context.task.purpose == "x"', 'true'],
  ['(if context.n == 1 then "one" else context.missing) == "one"', 'true'],
  ['context has missing && context.missing == 1', 'false'],
  ['context.n && true', 'reference'],
  ['principal in Writ::Group::"top" && principal in [Writ::Group::"g"] && !(principal in Writ::Group::"other")', 'true'],
  ['principal in [Writ::Group::"g", 1]', 'reference'],
  ['Writ::Agent::"nobody" in Writ::Agent::"nobody"', 'true'],
  ['principal is Writ::Agent && !(resource is Writ::Agent) && principal is Writ::Agent in Writ::Group::"g"', 'true'],
  ['context.n is Writ::Agent', 'reference'],
  ['action in [Writ::Action::"x.run", Writ::Action::"y"] && !(action in Writ::Action::"y")', 'true'],
  ['{ a: context.n, b: [context.s] }.b.contains("a😀b")', 'true'],
]

describe('compilePolicy', () => {
  test.each(semantics)('%s evaluates as cedar-wasm does (%s)', (condition, expected) => {
    expect(compiled(condition)).toBe(expected)
    const reference = cedar(condition)
    // A sum past 2^53 that does not overflow is exact in Cedar; it too goes to cedar-wasm, which then answers it.
    if (expected === 'reference') expect(['error', ...(condition.includes('9007199254740991 >') ? ['true'] : [])]).toContain(reference)
    else expect(reference).toBe(expected)
  })

  test.each([
    'decimal("1.5").lessThan(decimal("2.5"))',
    'datetime("2025-01-01").toDate() == datetime("2025-01-01")',
    'principal.getTag("x") == 1',
    'principal.hasTag("x")',
    'context.n < 9223372036854775807',
    'ip("010.0.0.1").isIpv4()',
  ])('%s is left to cedar-wasm', (condition) => {
    expect(compiled(condition)).toBe('unsupported')
  })

  test('a template is left to cedar-wasm', () => {
    const parsed = policyToJson('permit(principal == ?principal, action, resource);')
    // Cedar refuses a template as a static policy; its JSON, if handed over, holds a slot.
    const json: PolicyJson = parsed.type === 'success' ? parsed.json : { effect: 'permit', principal: { op: '==', slot: '?principal' }, action: { op: 'All' }, resource: { op: 'All' }, conditions: [] }
    expect(compilePolicy(json)).toBeUndefined()
  })

  test('a request value not held exactly is handed to cedar-wasm', () => {
    const satisfied = compilePolicy(policyOf('true'))
    expect(() => satisfied?.(envOf({ ...request, context: { big: 2 ** 60 } }))).toThrow(NeedsReference)
    expect(() => satisfied?.(envOf({ ...request, context: { text: 'a\ud800' } }))).toThrow(NeedsReference)
    expect(() => satisfied?.(envOf({ ...request, context: { ip: { __extn: { fn: 'decimal', arg: '1.0' } } } }))).toThrow(NeedsReference)
  })
})

describe('parseCedarIp', () => {
  const accepts = (text: string): boolean => cedar(`ip("${text}").isIpv4() || true`) === 'true'

  test.each([
    '10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '1.2.3.4/32', '::', '::1', 'FFFF::', '1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:8', '::1/128',
    '010.0.0.1', '10.0.0.0/08', '10.0.0.0/+8', '1.2.3.4/33', '1.2.3.4/', ' 1.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.256',
    '1:2:3:4:5:6:7::8', '0:0:0:0:0:0:0:0:0', '00000::1', '::1%eth0', '1::2::3', '::1.2', '::ffff:1.2.3.4', '::1/0128', '::1/129',
    '1:2:3:4:5:6:1.2.3.4', 'ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/128', '0ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/12',
  ])('%s is read as Cedar reads it', (text) => {
    expect(parseCedarIp(text) !== undefined).toBe(accepts(text))
  })

  test('accepts exactly what Cedar accepts on random address-like strings', () => {
    const text = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABF:./'), minLength: 1, maxLength: 16 })
    fc.assert(fc.property(text, (s) => parseCedarIp(s) !== undefined === accepts(s)), { numRuns: 500 })
  })
})
