/** Reads a file named on the command line, turning a missing or unreadable file into a WritError. */
import { readFileSync } from 'node:fs'
import { WritError } from '@writ/sdk'

export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (cause) {
    throw new WritError('REQUEST_INVALID', `cannot read \`${file}\`: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { cause })
  }
}
