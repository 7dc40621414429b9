/**
 * The lines `writ host enroll` adds to /etc/sudo.conf, and their removal. Everything else in the file is kept. When
 * the file names no plugin at all, sudo loads sudoers implicitly; naming our plugins would change what it loads
 * implicitly, so the block then names sudoers' own three plugins explicitly too (the same ones sudo would load),
 * which keeps the sudoers policy plugin and its logging exactly as they were.
 */
export const SUDO_CONF_BEGIN = '# writ: begin (added by `writ host enroll`; `writ host uninstall` removes this block)'
export const SUDO_CONF_END = '# writ: end'

export interface SudoPluginSettings {
  pluginPath: string
  group: string
  socketPath: string
}

const SAFE_VALUE = /^[A-Za-z0-9_./-]+$/

export function withWritPlugins(existing: string, settings: SudoPluginSettings): string {
  for (const value of [settings.pluginPath, settings.group, settings.socketPath]) {
    // sudo.conf splits on white space and has no quoting: a value with anything else would be read as two.
    if (!SAFE_VALUE.test(value)) throw new Error(`not usable in sudo.conf: ${JSON.stringify(value)}`)
  }
  const kept = withoutWritPlugins(existing)
  const hasPlugins = kept.split('\n').some((line) => /^\s*Plugin\s/.test(line))
  const options = `group=${settings.group} socket=${settings.socketPath}`
  const block = [
    SUDO_CONF_BEGIN,
    ...(hasPlugins ? [] : ['Plugin sudoers_policy sudoers.so', 'Plugin sudoers_io sudoers.so', 'Plugin sudoers_audit sudoers.so']),
    `Plugin writ_approval ${settings.pluginPath} ${options}`,
    `Plugin writ_audit ${settings.pluginPath} ${options}`,
    SUDO_CONF_END,
  ]
  const base = kept.length === 0 || kept.endsWith('\n') ? kept : `${kept}\n`
  return `${base}${block.join('\n')}\n`
}

export function withoutWritPlugins(existing: string): string {
  const lines = existing.split('\n')
  const out: string[] = []
  let inside = false
  for (const line of lines) {
    if (line === SUDO_CONF_BEGIN) inside = true
    else if (line === SUDO_CONF_END && inside) inside = false
    else if (!inside) out.push(line)
  }
  return out.join('\n')
}
