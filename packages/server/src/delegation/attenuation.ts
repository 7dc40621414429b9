/**
 * Attenuation: what a grant covers. A child grant, or a capability requested under a grant, must be covered entry by
 * entry by its parent: the same action, a resource equal to or narrower than the parent's glob, parameters equal or
 * narrower, the same access type when the parent names one. Enforced at every hop, never trusted from the request.
 */
import { isDeepStrictEqual } from 'node:util'
import type { WritAction } from '@writ/sdk'

/**
 * True when every string `child` can stand for is matched by the glob `parent` (`*` = any sequence, possibly empty).
 * Sound, deliberately not complete: `child` is matched against `parent` as a literal string, so each `*` of the child
 * must be absorbed by a `*` of the parent (a parent has no literal `*`), and any text the child's `*` stands for then
 * falls inside that parent `*`. A pattern the check cannot prove narrower is refused, never guessed.
 */
export function resourceCovers(parent: string, child: string): boolean {
  return parent === child || globMatches(parent, child)
}

/**
 * Glob match in O(|pattern| × |text|) at worst, without a regular expression: patterns come from requests, and a
 * backtracking regex over many `*` is a denial of service (ReDoS).
 */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0
  let t = 0
  let star = -1
  let resume = 0
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++
      resume = t
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++
      t++
    } else if (star !== -1) {
      p = star + 1
      t = ++resume
    } else {
      return false
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++
  return p === pattern.length
}

/**
 * Parameters are constraints: a parent's member binds every child. The child must carry each of the parent's
 * members with an equal value, and may add members of its own (a further constraint, so narrower).
 */
export function parametersCover(parent: Record<string, unknown> | undefined, child: Record<string, unknown> | undefined): boolean {
  if (parent === undefined) return true
  if (child === undefined) return false
  return Object.entries(parent).every(([key, value]) => Object.hasOwn(child, key) && isDeepStrictEqual(child[key], value))
}

/** Why `parent` does not cover `child`, or undefined when it does. */
export function uncovered(parent: WritAction, child: WritAction): string | undefined {
  if (parent.action !== child.action) return 'action'
  if (!resourceCovers(parent.resource, child.resource)) return 'resource'
  if (!parametersCover(parent.parameters, child.parameters)) return 'parameters'
  if (parent.actions !== undefined && child.actions?.[0] !== parent.actions[0]) return 'access_type'
  return undefined
}

/** The first parent entry that covers `child`, or the reasons none does (one per parent entry of the same action). */
export function coveringEntry(parents: readonly WritAction[], child: WritAction): { covered: true } | { covered: false; reason: string } {
  let reason = 'action'
  for (const parent of parents) {
    const why = uncovered(parent, child)
    if (why === undefined) return { covered: true }
    // The most specific failure is the useful one: a wrong resource says more than a wrong action.
    if (why !== 'action') reason = why
  }
  return { covered: false, reason }
}
