/** `writ policy ...`: validate, push, list, show and diff Cedar policy sets; print the schema; test a set before pushing it. */
import { InvalidArgumentError, type Command } from 'commander'
import { WritError } from '@writ/sdk'
import type { AdminClient } from './admin-client.js'
import type { CliContext } from './cli-context.js'
import { splitLines } from './line-diff.js'
import { formatJson, formatRows, printable, printableLine } from './output.js'
import { readCasesFile, runCases, type CaseResult } from './policy-cases.js'
import { readPolicyFiles, type PolicyFiles } from './policy-files.js'
import { loadPolicyTools, type PolicyProblem, type PolicySummary, type PolicyValidation } from './policy-tools.js'
import {
  diffSets, formatPolicySet, formatPolicySetList, formatProblem, formatSetDiff, formatWhatIf,
  type DiffSide, type PolicySetEntry, type PolicySetView, type WhatIfReport,
} from './policy-views.js'
import { CommandExit, EXIT_FAILURE } from './report-error.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'

interface JsonOption extends GlobalOptions { json?: boolean }
interface OfflineOption extends JsonOption { offline?: boolean }

const VERSION = /^(?:\d{1,9}|active)$/

export function registerPolicyCommands(program: Command, ctx: CliContext): void {
  const policy = program.command('policy').description('Cedar policy sets: validate, push, inspect, diff and test them')
  const admin = (command: Command) => adminClientFor(locateServer(command.optsWithGlobals<GlobalOptions>(), ctx.env))
  /** The admin client when a server is configured, else undefined: these commands then work offline. */
  const optionalAdmin = (command: Command): AdminClient | undefined => {
    const location = locateServer(command.optsWithGlobals<GlobalOptions>(), ctx.env)
    return location.adminUrl === undefined || location.adminToken === undefined ? undefined : adminClientFor(location)
  }

  policy.command('validate <file-or-dir>')
    .description('check a policy file, or every *.cedar file of a directory, against the schema; exits 1 when invalid')
    .option('--offline', 'validate here even when a server is reachable (actions are then not checked against the registry)')
    .option('--json', 'print the validation report as JSON')
    .action(async (path: string, options: OfflineOption, command: Command) => {
      const set = readPolicyFiles(path)
      const client = options.offline ? undefined : optionalAdmin(command)
      let validation: PolicyValidation | undefined
      let where = 'offline: actions are not checked against a registry'
      if (client !== undefined) {
        try {
          validation = await client.post<PolicyValidation>('/v1/policies/validate', { files: set.files })
          where = `checked against the registry at ${client.baseUrl}`
        } catch (error) {
          if (!unreachable(error)) throw error
          ctx.err(`note: the server at ${printable(client.baseUrl)} is unreachable; validating offline`)
        }
      }
      validation ??= offlineValidation((await loadPolicyTools()).validatePolicyFiles(set.files, []))
      if (options.json) {
        ctx.out(formatJson(validation))
        if (!validation.ok) throw new CommandExit(EXIT_FAILURE)
        return
      }
      printProblems(ctx, validation, set)
      if (!validation.ok) throw invalid(path, validation.errors)
      ctx.out(`ok: ${count(validation.policies.length, 'policy', 'policies')} in ${count(Object.keys(set.files).length, 'file')} (${where})`)
    })

  policy.command('push <file-or-dir>')
    .description('validate a set and store it as the next version, in force at once; exits 1 when invalid')
    .option('--comment <text>', 'why the set changes (kept with the version and in the audit log)')
    .option('--json', 'print the API response as JSON')
    .action(async (path: string, options: JsonOption & { comment?: string }, command: Command) => {
      const set = readPolicyFiles(path)
      const client = admin(command)
      // Validated first for the located problems; the server validates again on push and refuses an invalid set.
      const validation = await client.post<PolicyValidation>('/v1/policies/validate', { files: set.files })
      if (!validation.ok) {
        printProblems(ctx, validation, set)
        throw invalid(path, validation.errors, '; nothing was stored')
      }
      const body = { files: set.files, ...(options.comment === undefined ? {} : { comment: options.comment }) }
      const pushed = await client.post<{ version: number; hash: string; policies?: PolicySummary[] }>('/v1/policies', body)
      if (options.json) return ctx.out(formatJson(pushed))
      for (const warning of validation.warnings) ctx.err(`warning: ${formatProblem(warning, set.paths)}`)
      const policies = pushed.policies ?? validation.policies
      ctx.out(`pushed policy set version ${pushed.version}: ${count(policies.length, 'policy', 'policies')} in ${count(Object.keys(set.files).length, 'file')} (hash ${printable(pushed.hash.slice(0, 12))})`)
    })

  policy.command('list')
    .description('list the stored policy set versions; * marks the one in force')
    .option('--json', 'print the API response as JSON')
    .action(async (options: JsonOption, command: Command) => {
      const body = await admin(command).get<{ active: number; sets: PolicySetEntry[] }>('/v1/policies')
      ctx.out(options.json ? formatJson(body) : formatPolicySetList(body.active, body.sets))
    })

  policy.command('show')
    .description('show a policy set: its record, its policies and the text of its files')
    .argument('[version]', 'a version number or `active`', checkVersion, 'active')
    .option('--json', 'print the API response as JSON')
    .action(async (version: string, options: JsonOption, command: Command) => {
      const client = admin(command)
      const [set, listing] = await Promise.all([client.get<PolicySetView>(setPath(version)), client.get<{ active: number }>('/v1/policies')])
      ctx.out(options.json ? formatJson(set) : formatPolicySet(set, set.version === listing.active))
    })

  policy.command('diff <a> [b]')
    .description('unified diff of two policy sets, each a version (a number or `active`) or a file or directory; with one argument, from the active set to it')
    .option('--json', 'print the files that differ, with their hunks, as JSON')
    .action(async (a: string, b: string | undefined, options: JsonOption, command: Command) => {
      const [from, to] = b === undefined ? ['active', a] : [a, b]
      const client = VERSION.test(from) || VERSION.test(to) ? admin(command) : undefined
      const [before, after] = await Promise.all([from, to].map((side) => diffSide(side, client))) as [DiffSide, DiffSide]
      ctx.out(options.json ? formatJson(diffSets(before, after)) : formatSetDiff(before, after).text)
    })

  policy.command('schema')
    .description('print the Cedar schema policies are validated against (from the server, or offline)')
    .option('--offline', 'build the schema here even when a server is reachable')
    .option('--action <id>', 'offline: an action to declare; repeat for several', collect, [])
    .option('--json', 'print { schema, source } as JSON (source: the server\'s admin URL, or `offline`)')
    .action(async (options: OfflineOption & { action: string[] }, command: Command) => {
      const client = options.offline ? undefined : optionalAdmin(command)
      let schema: string | undefined
      let source = 'offline'
      if (client !== undefined) {
        try {
          schema = (await client.get<{ schema: string }>('/v1/policies/schema')).schema
          source = client.baseUrl
        } catch (error) {
          if (!unreachable(error)) throw error
          ctx.err(`note: the server at ${printable(client.baseUrl)} is unreachable; printing the schema offline`)
        }
      }
      schema ??= (await loadPolicyTools()).cedarSchemaText(options.action)
      ctx.out(options.json ? formatJson({ schema, source }) : splitLines(schema).map(printableLine).join('\n'))
    })

  policy.command('test [cases]')
    .description('test a policy set: against a cases file (offline, for CI), or against the recorded decisions of a period (--against-audit)')
    .option('--set <file-or-dir>', 'the candidate set (cases: default `policies` in the cases file, else the active set)')
    .option('--against-audit', 'replay recorded decisions against --set through the server and list those that would change')
    .option('--since <period>', 'with --against-audit: 30m, 24h, 7d or an ISO timestamp', '24h')
    .option('--json', 'print the results as JSON')
    .addHelpText('after', '\nExit codes: 0 every case passed (or the what-if report was printed), 1 a case failed or an error, 2 usage.')
    .action(async (cases: string | undefined, options: JsonOption & { set?: string; againstAudit?: boolean; since: string }, command: Command) => {
      if (options.againstAudit) {
        if (options.set === undefined) command.error('error: --against-audit needs --set <file-or-dir>, the candidate set')
        if (cases !== undefined) command.error('error: --against-audit takes no cases file')
        const set = readPolicyFiles(options.set as string)
        const report = await admin(command).post<WhatIfReport>('/v1/policies/what-if', { files: set.files, since: options.since })
        return ctx.out(options.json ? formatJson(report) : formatWhatIf(report, options.since))
      }
      if (cases === undefined) command.error('error: name a cases file, or use --against-audit --set <file-or-dir>')
      const tools = await loadPolicyTools()
      const file = readCasesFile(cases as string, tools, ctx.clock.nowMs())
      const files = await caseSet(options.set ?? file.policies, command)
      const results = runCases(tools, files, file)
      const failed = results.filter((result) => !result.pass).length
      if (options.json) ctx.out(formatJson({ passed: results.length - failed, failed, cases: results }))
      else ctx.out(formatCaseResults(results))
      if (failed > 0) {
        ctx.err(`error: ${failed} of ${results.length} cases failed`)
        throw new CommandExit(EXIT_FAILURE)
      }
    })

  /** The set the cases run against: a path, or else the active set of a reachable server. */
  async function caseSet(path: string | undefined, command: Command): Promise<Record<string, string>> {
    if (path !== undefined) return readPolicyFiles(path).files
    const client = optionalAdmin(command)
    if (client === undefined) command.error('error: name the policy set with --set <file-or-dir> or `policies:` in the cases file (no server to read the active set from)')
    return (await (client as AdminClient).get<PolicySetView>(setPath('active'))).files
  }
}

async function diffSide(side: string, client: AdminClient | undefined): Promise<DiffSide> {
  if (!VERSION.test(side) || client === undefined) return { label: side, files: readPolicyFiles(side).files }
  const set = await client.get<PolicySetView>(setPath(side))
  return { label: side === 'active' ? `active, version ${set.version}` : `version ${set.version}`, files: set.files }
}

/** Offline there is no registry: "no agent declares this action" would be said of every action, so it is not said. */
function offlineValidation(validation: PolicyValidation): PolicyValidation {
  return { ...validation, warnings: validation.warnings.filter((w) => !/is not declared by any registered agent$/.test(w.message)) }
}

function printProblems(ctx: CliContext, validation: PolicyValidation, set: PolicyFiles): void {
  for (const problem of validation.errors) ctx.out(formatProblem(problem, set.paths))
  for (const problem of validation.warnings) ctx.out(formatProblem(problem, set.paths, 'warning: '))
}

function invalid(path: string, errors: readonly PolicyProblem[], consequence = ''): WritError {
  return new WritError('POLICY_INVALID', `\`${path}\` is invalid: ${count(errors.length, 'problem')}${consequence}`)
}

function formatCaseResults(results: readonly CaseResult[]): string {
  const rows = results.map((r) => [
    r.pass ? 'PASS' : 'FAIL', r.name, r.pass ? r.effect : `expected ${r.expect}, got ${r.effect}`, r.reasons.join(', '),
  ])
  const failed = results.filter((r) => !r.pass).length
  return `${formatRows(rows)}\n${results.length - failed} passed, ${failed} failed`
}

function setPath(version: string): string {
  return `/v1/policies/${encodeURIComponent(version)}`
}

function checkVersion(value: string): string {
  if (!VERSION.test(value)) throw new InvalidArgumentError('a version is a number or `active`')
  return value
}

function unreachable(error: unknown): boolean {
  return error instanceof WritError && error.code === 'SERVER_UNAVAILABLE' && error.reasons.includes('network_error')
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`
}
