/**
 * Which entity attributes and context members a set of policies can read, so a request carries only those into Cedar.
 * Converting values into the wasm module is most of a decision's cost; a value no policy can read cannot change one.
 */
import type { Expr, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs'

/** `true`: the whole value; a map: only these members (each with its own need). */
export type NeedTree = true | Map<string, NeedTree>

export interface Needs {
  principal: true | Set<string>
  resource: true | Set<string>
  context: NeedTree
}

export const ALL_NEEDS: Readonly<Needs> = Object.freeze({ principal: true, resource: true, context: true })

export function emptyNeeds(): Needs {
  return { principal: new Set(), resource: new Set(), context: new Map() }
}

/** What one policy reads. The scope only compares entity uids, so only the conditions matter. */
export function needsOf(policy: PolicyJson): Needs {
  const needs = emptyNeeds()
  for (const clause of policy.conditions) visit(clause.body, needs)
  return needs
}

export function mergeNeeds(into: Needs, from: Needs): Needs {
  into.principal = mergeSet(into.principal, from.principal)
  into.resource = mergeSet(into.resource, from.resource)
  into.context = mergeTree(into.context, from.context)
  return into
}

/** A stable key for the principal part of a need, to cache projected agent entities. */
export function attributeKey(need: true | Set<string>): string {
  return need === true ? '*' : [...need].sort().join(',')
}

/** The members of `value` that `tree` names; values that are not plain records are kept whole. */
export function project(value: Record<string, unknown>, tree: NeedTree): Record<string, unknown> {
  if (tree === true) return value
  const out: Record<string, unknown> = {}
  for (const [key, sub] of tree) {
    const member = value[key]
    if (member === undefined) continue
    out[key] = sub === true || !isPlainRecord(member) ? member : project(member, sub)
  }
  return out
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !('__extn' in value) && !('__entity' in value)
}

const BINARY = new Set(['==', '!=', 'in', '<', '<=', '>', '>=', '&&', '||', '+', '-', '*', 'contains', 'containsAll', 'containsAny', 'getTag', 'hasTag'])
const UNARY = new Set(['!', 'neg', 'isEmpty'])

function visit(expr: Expr, needs: Needs): void {
  const [op, body] = onlyEntry(expr)
  if (op === 'Value' || op === 'Slot') return
  if (op === 'Var') {
    // principal, resource and action used as values compare by uid; a bare `context` exposes everything.
    if (body === 'context') needs.context = true
    return
  }
  const node = body as Record<string, unknown>
  if (op === '.' || op === 'has') {
    const attrs = op === '.' ? [node.attr as string] : ([] as string[]).concat(node.attr as string | string[])
    const path = pathOf(node.left as Expr)
    if (path === undefined) {
      // An attribute read on a computed entity or record (`(if c then principal else ...).owner`): keep everything.
      everything(needs)
      visit(node.left as Expr, needs)
    } else {
      addPath(needs, [...path, ...attrs])
    }
    return
  }
  if (BINARY.has(op)) {
    visit(node.left as Expr, needs)
    visit(node.right as Expr, needs)
    return
  }
  if (UNARY.has(op)) return visit(node.arg as Expr, needs)
  if (op === 'like') return visit(node.left as Expr, needs)
  if (op === 'is') {
    visit(node.left as Expr, needs)
    if (node.in !== undefined) visit(node.in as Expr, needs)
    return
  }
  if (op === 'if-then-else') {
    for (const part of [node.if, node.then, node.else]) visit(part as Expr, needs)
    return
  }
  if (op === 'Set' && Array.isArray(body)) {
    for (const element of body) visit(element as Expr, needs)
    return
  }
  if (op === 'Record') {
    for (const member of Object.values(node)) visit(member as Expr, needs)
    return
  }
  if (Array.isArray(body)) {
    // An extension function or method call (`ip(...)`, `.isInRange(...)`): its arguments are expressions.
    for (const arg of body) visit(arg as Expr, needs)
    return
  }
  // An operator this walker does not know (a newer Cedar): assume it may read anything.
  everything(needs)
}

function onlyEntry(expr: Expr): [string, unknown] {
  const entries = Object.entries(expr as Record<string, unknown>)
  const first = entries[0]
  if (entries.length !== 1 || first === undefined) return ['?', undefined]
  return first
}

/** `context.task.purpose` → ['context', 'task', 'purpose']; undefined when not rooted in a variable. */
function pathOf(expr: Expr): string[] | undefined {
  const [op, body] = onlyEntry(expr)
  if (op === 'Var' && typeof body === 'string') return [body]
  if (op === '.') {
    const node = body as { left: Expr; attr: string }
    const inner = pathOf(node.left)
    return inner && [...inner, node.attr]
  }
  return undefined
}

function addPath(needs: Needs, path: readonly string[]): void {
  const [root, first, ...rest] = path
  if (first === undefined) return
  if (root === 'principal') needs.principal = mergeSet(needs.principal, new Set([first]))
  else if (root === 'resource') needs.resource = mergeSet(needs.resource, new Set([first]))
  // `context.human` is an entity reference: past it, reads go to the Human entity, which travels whenever it does.
  // `context.target_host` likewise, to the Host entity.
  else if (root === 'context') needs.context = insert(needs.context, first === 'human' || first === 'target_host' ? [first] : [first, ...rest])
  else if (root !== 'action') everything(needs)
}

function everything(needs: Needs): void {
  needs.principal = true
  needs.resource = true
  needs.context = true
}

function insert(tree: NeedTree, path: readonly string[]): NeedTree {
  if (tree === true) return true
  const [head, ...rest] = path
  if (head === undefined) return true
  tree.set(head, rest.length === 0 ? true : insert(tree.get(head) ?? new Map(), rest))
  return tree
}

function mergeSet(a: true | Set<string>, b: true | Set<string>): true | Set<string> {
  if (a === true || b === true) return true
  return new Set([...a, ...b])
}

function mergeTree(a: NeedTree, b: NeedTree): NeedTree {
  if (a === true || b === true) return true
  const out = new Map(a)
  for (const [key, sub] of b) {
    const existing = out.get(key)
    out.set(key, existing === undefined ? sub : mergeTree(existing, sub))
  }
  return out
}
