/** fileErrorReason(): why a file the operator named could not be read, in words (ENOENT: does not exist). */
export function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOENT': return 'does not exist'
    case 'EACCES': case 'EPERM': return 'permission denied'
    case 'EISDIR': return 'is a directory, not a file'
    case 'ENOTDIR': return 'a part of the path is not a directory'
    default: return code ?? (error instanceof Error ? error.message : String(error))
  }
}
