/** `writ audit tail` and `writ audit verify`: read the hash-chained log, and check it online or straight from storage. */
import { InvalidArgumentError, type Command } from 'commander'
import { WritError } from '@writ/sdk'
import type { AuditRecord, ChainReport } from '@writ/server'
import type { AdminClient } from './admin-client.js'
import type { CliContext } from './cli-context.js'
import { AUDIT_HEADERS, auditRow, formatAuditTable, formatChainOk } from './audit-views.js'
import { openLocalStorage } from './local-storage.js'
import { formatJson, formatRows } from './output.js'
import { adminClientFor, locateServer, type GlobalOptions } from './server-locator.js'

interface TailOptions extends GlobalOptions { lines: number; follow?: boolean; json?: boolean; interval: number }
interface VerifyOptions extends GlobalOptions { offline?: boolean; json?: boolean; config?: string }

const PAGE = 1_000

export function registerAuditCommands(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('read and verify the audit log')

  audit.command('tail')
    .description('print the latest audit records')
    .option('-n, --lines <n>', 'how many records', positiveInteger, 20)
    .option('-f, --follow', 'keep printing new records until Ctrl-C')
    .option('--interval <ms>', 'how often --follow polls', positiveInteger, 1_000)
    .option('--json', 'print the API response as JSON (with --follow: one record per line)')
    .action(async (_options: TailOptions, command: Command) => {
      const options = command.optsWithGlobals<TailOptions>()
      const client = adminClientFor(locateServer(options, ctx.env))
      const { records } = await client.get<{ records: AuditRecord[] }>(`/v1/audit?tail=${Math.min(options.lines, PAGE)}`)
      if (!options.follow) return ctx.out(options.json ? formatJson({ records }) : formatAuditTable(records))
      await follow(client, records, options, ctx)
    })

  audit.command('verify')
    .description('verify the hash chain: through the admin API, or offline from the data directory when no server runs')
    .option('--offline', 'read storage directly even if a server is running')
    .option('--config <file>', 'configuration file naming the storage (offline; default: $WRIT_CONFIG)')
    .option('--json', 'print the chain report as JSON')
    .action(async (_options: VerifyOptions, command: Command) => {
      const options = command.optsWithGlobals<VerifyOptions>()
      const { report, where } = await verify(options, ctx)
      if (options.json) ctx.out(formatJson(report))
      else if (report.ok) ctx.out(formatChainOk(report, where))
      if (!report.ok) {
        const bad = report.firstBad
        throw new WritError('AUDIT_CHAIN_BROKEN', `the audit chain is broken at seq ${bad?.seq ?? '?'}: ${bad?.reason ?? 'unknown reason'} (${report.count} records verified before it; ${where})`)
      }
    })
}

async function verify(options: VerifyOptions, ctx: CliContext): Promise<{ report: ChainReport; where: string }> {
  const location = locateServer(options, ctx.env)
  const online = !options.offline && location.adminUrl !== undefined
  if (online) {
    try {
      const report = await adminClientFor(location).get<ChainReport>('/v1/audit/verify')
      return { report, where: `online, ${location.adminUrl}` }
    } catch (error) {
      // server.json can outlive a crashed server; then the data is still here to verify. An address the user gave is
      // not second-guessed: that server may hold another log entirely.
      const unreachable = error instanceof WritError && error.reasons.includes('network_error')
      if (!unreachable || location.adminSource !== 'server.json') throw error
      ctx.err(`the server named in \`${location.dataDir}\` does not answer; verifying offline`)
    }
  }
  const local = await openLocalStorage({
    env: ctx.env, mustExist: true,
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.config === undefined ? {} : { configFile: options.config }),
  })
  try {
    // Imported with the storage: verification runs the same code the server runs.
    const { verifyChain } = await import('@writ/server')
    const report = await verifyChain(local.storage.audit).catch((cause: unknown) => {
      throw new WritError('STORAGE_UNAVAILABLE', `cannot read the audit log in \`${local.description}\``, { cause })
    })
    return { report, where: `offline, ${local.description}` }
  } finally {
    await local.storage.close()
  }
}

async function follow(client: AdminClient, initial: AuditRecord[], options: TailOptions, ctx: CliContext): Promise<void> {
  let lastSeq = initial.at(-1)?.seq ?? 0
  let headerShown = false
  const print = (records: AuditRecord[]) => {
    if (options.json) return records.forEach((record) => ctx.out(JSON.stringify(record)))
    if (records.length === 0) return
    const rows = formatRows([...(headerShown ? [] : [AUDIT_HEADERS]), ...records.map(auditRow)])
    headerShown = true
    ctx.out(rows)
  }
  let stopped = false
  const stop = ctx.untilStopped().then(() => { stopped = true })
  print(initial)
  while (!stopped) {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([stop, new Promise((resolve) => { timer = setTimeout(resolve, options.interval) })])
    clearTimeout(timer)
    if (stopped) break
    for (;;) {
      const { records } = await client.get<{ records: AuditRecord[] }>(`/v1/audit?after=${lastSeq}&limit=${PAGE}`)
      print(records)
      lastSeq = records.at(-1)?.seq ?? lastSeq
      if (records.length < PAGE) break
    }
  }
}

function positiveInteger(value: string): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) === 0) throw new InvalidArgumentError('expected a positive integer')
  return Number(value)
}
