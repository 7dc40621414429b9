/** Reads a policy set named on the command line: one Cedar file, or every `*.cedar` file of a directory (sorted, not recursive). */
import { readdirSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { WritError } from '@writ/sdk'
import { readTextFile } from './read-text-file.js'

export interface PolicyFiles {
  /** File name → Cedar text, as the server stores a set. */
  files: Record<string, string>
  /** File name → the path to show in messages, so an editor can jump to it. */
  paths: Record<string, string>
}

// The names the admin API accepts for the files of a set.
const FILE_NAME = /^[A-Za-z0-9._-]{1,200}$/

export function readPolicyFiles(fileOrDir: string): PolicyFiles {
  let isDirectory: boolean
  try {
    isDirectory = statSync(fileOrDir).isDirectory()
  } catch (cause) {
    throw new WritError('REQUEST_INVALID', `cannot read \`${fileOrDir}\`: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { cause })
  }
  const entries = isDirectory
    ? readdirSync(fileOrDir, { withFileTypes: true })
      .filter((entry) => entry.name.endsWith('.cedar') && (entry.isFile() || entry.isSymbolicLink()))
      .map((entry) => [entry.name, join(fileOrDir, entry.name)] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    : [[basename(fileOrDir), fileOrDir] as const]
  if (entries.length === 0) throw new WritError('REQUEST_INVALID', `\`${fileOrDir}\` holds no .cedar files`)

  const files: Record<string, string> = {}
  const paths: Record<string, string> = {}
  for (const [name, path] of entries) {
    if (!FILE_NAME.test(name)) throw new WritError('REQUEST_INVALID', `\`${path}\`: policy file names may only hold letters, digits and . _ -`)
    files[name] = readTextFile(path)
    paths[name] = path
  }
  return { files, paths }
}
