/**
 * Builds the sudo plugin (plugin/writ_sudo.c) with the system compiler against /usr/include/sudo_plugin.h. Used by
 * `writ host enroll` (into /usr/local/libexec/writ/, root-owned 0644: sudo refuses a plugin others can write), by
 * `writ host build-plugin` and by the tests (into a temporary directory).
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const DEFAULT_PLUGIN_PATH = '/usr/local/libexec/writ/writ_sudo.so'
export const PLUGIN_SOURCE_PATH = fileURLToPath(new URL('../plugin/writ_sudo.c', import.meta.url))
export const PLUGIN_CFLAGS = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-fvisibility=hidden'] as const

export function buildSudoPlugin(outputPath: string = DEFAULT_PLUGIN_PATH, compiler = process.env.CC ?? 'cc'): string {
  mkdirSync(dirname(outputPath), { recursive: true, mode: 0o755 })
  // Build beside the target, then rename: a sudo starting meanwhile loads the old object or the new one, never half of one.
  const temporary = join(dirname(outputPath), `.writ_sudo.${process.pid}.so`)
  try {
    execFileSync(compiler, [...PLUGIN_CFLAGS, '-o', temporary, PLUGIN_SOURCE_PATH], { stdio: ['ignore', 'pipe', 'pipe'] })
    chmodSync(temporary, 0o644)
    renameSync(temporary, outputPath)
  } catch (error) {
    rmSync(temporary, { force: true })
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? ''
    throw new Error(`building the sudo plugin failed: ${stderr || (error as Error).message}`)
  }
  return outputPath
}
