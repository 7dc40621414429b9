/** How `writ policy` prints problems, policy sets, diffs and what-if reports; every server-supplied value is escaped. */
import { diffLines, splitLines, unifiedHunks, type Hunk } from './line-diff.js'
import { formatFields, formatTable, printable, printableLine } from './output.js'
import type { PolicyProblem, PolicySummary } from './policy-tools.js'

export interface PolicySetEntry {
  version: number
  hash: string
  created_by: string
  created_at: string
  comment: string
}

export interface PolicySetView extends PolicySetEntry {
  files: Record<string, string>
  policies?: PolicySummary[]
}

export interface ChangedDecision {
  seq: number
  time: string
  agent_id: string
  agent_name: string
  action: string
  resource: string
  task_id: string
  before: string
  after: string
  reasons: string[]
}

export interface WhatIfReport {
  since?: string
  evaluated: number
  skipped: number
  changed_count: number
  changed: ChangedDecision[]
}

/** `<file>: <policy id> <line:col>: message`, each part only when known; `paths` maps file names to the paths given. */
export function formatProblem(problem: PolicyProblem, paths: Readonly<Record<string, string>> = {}, severity = ''): string {
  const policy = problem.policy ?? problem.policy_id
  const location = problem.location ?? (problem.line === undefined ? undefined : `${problem.line}:${problem.column ?? 1}`)
  const file = problem.file === undefined ? undefined : paths[problem.file] ?? problem.file
  const where = [policy, location].filter((part) => part !== undefined).join(' ')
  const parts = [file, where === '' ? undefined : where, `${severity}${problem.message}`].filter((part) => part !== undefined)
  return printable(parts.join(': '))
}

export function formatPolicies(policies: readonly PolicySummary[]): string {
  if (policies.length === 0) return '(no policies)'
  return formatTable(['ID', 'FILE', 'EFFECT', 'ACTIONS', 'HOLD'], policies.map((p) => [
    p.id, p.file, p.effect, p.actions === 'all' ? '(all)' : p.actions.join(', '), p.hold ? 'yes' : '',
  ]))
}

export function formatPolicySetList(active: number, sets: readonly PolicySetEntry[]): string {
  if (sets.length === 0) return '(no policy sets)'
  return formatTable(['VERSION', 'ACTIVE', 'CREATED', 'BY', 'HASH', 'COMMENT'], [...sets].reverse().map((set) => [
    set.version, set.version === active ? '*' : '', set.created_at, set.created_by, set.hash.slice(0, 12), set.comment,
  ]))
}

/** The set's record, its policies, then each file's text under a `==> name <==` header (as `head` prints files). */
export function formatPolicySet(set: PolicySetView, active: boolean): string {
  const lines = [formatFields([
    ['version', `${set.version}${active ? ' (active)' : ''}`], ['hash', set.hash], ['created', set.created_at],
    ['by', set.created_by], ['comment', set.comment], ['files', Object.keys(set.files).sort().join(', ')],
  ])]
  if (set.policies !== undefined) lines.push('', formatPolicies(set.policies))
  for (const name of Object.keys(set.files).sort()) {
    lines.push('', `==> ${printable(name)} <==`, ...splitLines(set.files[name] ?? '').map(printableLine))
  }
  return lines.join('\n')
}

export interface DiffSide {
  /** `version 3`, `the active set (version 3)`, or a path. */
  label: string
  files: Readonly<Record<string, string>>
}

/** One file's part of a set diff, as `writ policy diff --json` prints it. */
export interface FileDiff {
  file: string
  status: 'changed' | 'added' | 'removed'
  hunks: Hunk[]
}

export interface SetDiff {
  from: string
  to: string
  files: FileDiff[]
  summary: { changed: number; added: number; removed: number }
}

/** The files that differ between two sets, each with its unified-diff hunks (raw text: escaped only when printed). */
export function diffSets(a: DiffSide, b: DiffSide): SetDiff {
  const names = [...new Set([...Object.keys(a.files), ...Object.keys(b.files)])].sort()
  const files: FileDiff[] = []
  for (const name of names) {
    const before = a.files[name]
    const after = b.files[name]
    if (before === after) continue
    const status = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed'
    files.push({ file: name, status, hunks: unifiedHunks(diffLines(splitLines(before ?? ''), splitLines(after ?? ''))) })
  }
  const count = (status: FileDiff['status']) => files.filter((f) => f.status === status).length
  return { from: a.label, to: b.label, files, summary: { changed: count('changed'), added: count('added'), removed: count('removed') } }
}

/** A unified diff per file, files added and removed included, and a one-line summary. */
export function formatSetDiff(a: DiffSide, b: DiffSide): { text: string; changed: number } {
  const diff = diffSets(a, b)
  const out: string[] = []
  for (const file of diff.files) {
    out.push(`--- ${file.status === 'added' ? '/dev/null' : `a/${printable(file.file)}`}\t(${printable(a.label)})`)
    out.push(`+++ ${file.status === 'removed' ? '/dev/null' : `b/${printable(file.file)}`}\t(${printable(b.label)})`)
    if (file.hunks.length === 0) out.push('(the files differ only in their final newline)')
    for (const hunk of file.hunks) out.push(hunk.header, ...hunk.lines.map(printableLine))
  }
  const { changed, added, removed } = diff.summary
  const total = diff.files.length
  out.push(total === 0
    ? `no differences between ${printable(a.label)} and ${printable(b.label)}`
    : `${total} file${total === 1 ? ' differs' : 's differ'}: ${changed} changed, ${added} added, ${removed} removed`)
  return { text: out.join('\n'), changed: total }
}

export function formatWhatIf(report: WhatIfReport, sinceLabel: string): string {
  const since = report.since ?? sinceLabel
  const head = `${report.changed_count} of ${report.evaluated} recorded decision${report.evaluated === 1 ? '' : 's'} since ${printable(since)} would change` +
    (report.skipped > 0 ? ` (${report.skipped} skipped: no replayable context)` : '')
  if (report.changed.length === 0) return head
  const table = formatTable(['SEQ', 'TIME', 'AGENT', 'ACTION', 'RESOURCE', 'TASK', 'BEFORE', 'AFTER', 'REASONS'], report.changed.map((c) => [
    c.seq, c.time, c.agent_name || c.agent_id, c.action, c.resource, c.task_id, c.before, c.after, c.reasons.join(', '),
  ]))
  const more = report.changed_count > report.changed.length ? `\n(${report.changed_count - report.changed.length} more not listed)` : ''
  return `${head}\n${table}${more}`
}
