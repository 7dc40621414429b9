/** `writ db migrate`: applies pending migrations to the configured storage and says which ran. */
import type { Command } from 'commander'
import { WritError } from '@writ/sdk'
import type { CliContext } from './cli-context.js'
import { openLocalStorage } from './local-storage.js'
import { formatJson, printable } from './output.js'
import type { GlobalOptions } from './server-locator.js'

interface MigrateOptions extends GlobalOptions { config?: string; json?: boolean }

export function registerDbCommands(program: Command, ctx: CliContext): void {
  const db = program.command('db').description('storage maintenance')
  db.command('migrate')
    .description('apply pending migrations to the configured storage (the server also does this at start)')
    .option('--config <file>', 'configuration file naming the storage (default: $WRIT_CONFIG)')
    .option('--json', 'print the applied migrations as JSON')
    .action(async (_options: MigrateOptions, command: Command) => {
      const options = command.optsWithGlobals<MigrateOptions>()
      const local = await openLocalStorage({
        env: ctx.env, mustExist: false,
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        ...(options.config === undefined ? {} : { configFile: options.config }),
      })
      try {
        const { migrate } = await import('@writ/server')
        const applied = await migrate(local.storage.db).catch((cause: unknown) => {
          throw new WritError('STORAGE_UNAVAILABLE', `migrating \`${local.description}\` failed: ${String((cause as Error).message ?? cause)}`, { cause })
        })
        if (options.json) return ctx.out(formatJson({ storage: local.description, applied }))
        if (applied.length === 0) return ctx.out(`${printable(local.description)}: up to date, no migrations to apply`)
        ctx.out(`${printable(local.description)}: applied ${applied.length} migration(s)`)
        for (const name of applied) ctx.out(`  ${printable(name)}`)
      } finally {
        await local.storage.close()
      }
    })
}
