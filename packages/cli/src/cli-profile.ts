/** The login profile: one server's admin and public addresses and an admin credential, in the user's config directory. */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join, sep } from 'node:path'
import { WritError } from '@writ/sdk'

export interface Profile {
  admin_url: string
  public_url: string
  /** An admin credential: the file is 0600 in a 0700 directory, as ssh keeps its keys. */
  admin_token: string
}

type Env = Readonly<Record<string, string | undefined>>

export const PROFILE_FILE = 'profile.json'

/**
 * `$WRIT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/writ`, else `~/.config/writ`. Read from the environment only (not
 * os.homedir()), so a test or a script that passes its own environment never reads the user's real profile.
 */
export function configDirOf(env: Env): string | undefined {
  const explicit = nonEmpty(env.WRIT_CONFIG_DIR)
  if (explicit !== undefined) return explicit
  const xdg = nonEmpty(env.XDG_CONFIG_HOME)
  if (xdg !== undefined) return join(xdg, 'writ')
  const home = nonEmpty(env.HOME) ?? nonEmpty(env.USERPROFILE)
  return home === undefined ? undefined : join(home, '.config', 'writ')
}

export function profileFileOf(env: Env): string | undefined {
  const dir = configDirOf(env)
  return dir === undefined ? undefined : join(dir, PROFILE_FILE)
}

/** The profile, undefined when there is none; a damaged file is an error rather than a silent fallback to another server. */
export function readProfile(env: Env): { profile: Profile; file: string } | undefined {
  const file = profileFileOf(env)
  if (file === undefined) return undefined
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new WritError('CONFIG_INVALID', `cannot read the profile \`${displayPath(file, env)}\`: ${(error as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  const profile = parsed as Partial<Profile> | undefined
  if (!profile || typeof profile !== 'object' || !isUrl(profile.admin_url) || !isUrl(profile.public_url) || typeof profile.admin_token !== 'string' || profile.admin_token === '') {
    throw new WritError('CONFIG_INVALID', `the profile \`${displayPath(file, env)}\` is damaged; run \`writ login\` again or \`writ logout\``)
  }
  return { profile: { admin_url: profile.admin_url, public_url: profile.public_url, admin_token: profile.admin_token }, file }
}

/** Writes the profile whole (temporary file, then rename), readable by its owner only. */
export function writeProfile(env: Env, profile: Profile): string {
  const dir = configDirOf(env)
  if (dir === undefined) throw new WritError('CONFIG_INVALID', 'no configuration directory: set HOME, XDG_CONFIG_HOME or WRIT_CONFIG_DIR')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  // mkdir leaves an existing directory as it was; this one is writ's own and holds a credential.
  chmodSync(dir, 0o700)
  const file = join(dir, PROFILE_FILE)
  const temporary = `${file}.${process.pid}.tmp`
  rmSync(temporary, { force: true })
  writeFileSync(temporary, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
  try {
    chmodSync(temporary, 0o600)
    renameSync(temporary, file)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
  return file
}

/** Removes the profile; returns its path when there was one. */
export function removeProfile(env: Env): string | undefined {
  const file = profileFileOf(env)
  if (file === undefined) return undefined
  try {
    rmSync(file)
    return file
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** A path for messages, with the home directory shown as `~`. */
export function displayPath(file: string, env: Env): string {
  const home = nonEmpty(env.HOME)
  return home !== undefined && file.startsWith(home + sep) ? `~${file.slice(home.length)}` : file
}

function isUrl(value: unknown): value is string {
  return typeof value === 'string' && /^https?:\/\/./.test(value)
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value
}
