/**
 * The plugin's wire format on the host agent's socket: one request frame, one reply frame, per connection; a session
 * ('S') connection then stays open for the run, and the daemon writes on it only to end the command ('T').
 * A frame is [u32 big-endian length][kind byte][fields], each field [u32 big-endian length][bytes]. argv travels as
 * separate fields, so it is compared as a vector and never joined, split or quoted.
 */

/** The plugin caps its request at this size; a larger length prefix is hostile or broken. */
export const MAX_REQUEST_BYTES = 256 * 1024
/** The plugin refuses a reply larger than this. */
export const MAX_REPLY_BYTES = 4096
export const MAX_TOKEN_BYTES = 16 * 1024

export interface CheckRequest {
  kind: 'check'
  token: string
  /** The invoking unix user. */
  user: string
  cwd: string
  runas: string
  /** The command path sudo resolved (command_info `command=`). */
  command: string
  /** The sudo front-end's pid: the command's parent for as long as it runs. */
  sudoPid: number
  /** The argv sudo will run, as a vector; argv[0] as typed. */
  argv: string[]
}

export interface EndRequest {
  kind: 'end'
  reportId: string
  status: { kind: 'exit' | 'signal' | 'error' | 'none'; value: number }
}

/** Opens the run's audit channel: the plugin keeps this connection open while the command runs (SUDO-05). */
export interface SessionRequest {
  kind: 'session'
  reportId: string
}

export type PluginRequest = CheckRequest | EndRequest | SessionRequest

export class FrameError extends Error {}

/** Splits a payload (after the length prefix) into its kind and fields; throws FrameError on any inconsistency. */
export function parseFields(payload: Buffer): { kind: string; fields: Buffer[] } {
  if (payload.length < 1) throw new FrameError('empty frame')
  const kind = String.fromCharCode(payload[0]!)
  const fields: Buffer[] = []
  let at = 1
  while (at < payload.length) {
    if (at + 4 > payload.length) throw new FrameError('truncated field length')
    const length = payload.readUInt32BE(at)
    at += 4
    if (length > payload.length - at) throw new FrameError('truncated field')
    fields.push(payload.subarray(at, at + length))
    at += length
  }
  return { kind, fields }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function text(field: Buffer | undefined, what: string): string {
  if (field === undefined) throw new FrameError(`missing ${what}`)
  // The plugin sends C strings: a NUL cannot be inside one, so its presence means the frame is forged.
  if (field.includes(0)) throw new FrameError(`${what} contains NUL`)
  try {
    return utf8.decode(field)
  } catch {
    throw new FrameError(`${what} is not UTF-8`)
  }
}

export function parsePluginRequest(payload: Buffer): PluginRequest {
  const { kind, fields } = parseFields(payload)
  if (kind === 'C') {
    if (fields.length < 7) throw new FrameError('a check needs token, user, cwd, runas, command, pid and argv')
    const pid = text(fields[5], 'pid')
    if (!/^[1-9]\d{0,9}$/.test(pid)) throw new FrameError('pid is not a process id')
    const token = fields[0]!
    if (token.length > MAX_TOKEN_BYTES) throw new FrameError('token too large')
    return {
      kind: 'check',
      token: text(token, 'token'),
      user: text(fields[1], 'user'),
      cwd: text(fields[2], 'cwd'),
      runas: text(fields[3], 'runas'),
      command: text(fields[4], 'command'),
      sudoPid: Number(pid),
      argv: fields.slice(6).map((field, i) => text(field, `argv[${i}]`)),
    }
  }
  if (kind === 'E') {
    if (fields.length !== 3) throw new FrameError('an end needs report id, status kind and value')
    const statusKind = text(fields[1], 'status kind')
    if (statusKind !== 'exit' && statusKind !== 'signal' && statusKind !== 'error' && statusKind !== 'none') throw new FrameError('unknown status kind')
    const value = text(fields[2], 'status value')
    if (!/^-?\d{1,10}$/.test(value)) throw new FrameError('status value is not a number')
    return { kind: 'end', reportId: text(fields[0], 'report id'), status: { kind: statusKind, value: Number(value) } }
  }
  if (kind === 'S') {
    if (fields.length !== 1) throw new FrameError('a session needs the report id alone')
    return { kind: 'session', reportId: text(fields[0], 'report id') }
  }
  throw new FrameError('unknown frame kind')
}

/** Encodes a payload with its length prefix: used for replies here and for requests in tests. */
export function encodeFrame(kind: string, fields: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(kind, 'latin1')]
  for (const field of fields) {
    const bytes = typeof field === 'string' ? Buffer.from(field, 'utf8') : field
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    parts.push(length, bytes)
  }
  const payload = Buffer.concat(parts)
  const prefix = Buffer.alloc(4)
  prefix.writeUInt32BE(payload.length)
  return Buffer.concat([prefix, payload])
}

export function allowReply(reportId: string): Buffer {
  return encodeFrame('A', ['allowed', reportId])
}

export function denyReply(message: string): Buffer {
  // The plugin prints printable ASCII only and caps the message; keep it well inside the reply limit.
  return encodeFrame('D', [message.slice(0, 400)])
}

export function ackReply(): Buffer {
  return encodeFrame('K', ['ok'])
}

/** Written on a run's session to end the command; the plugin ends it on any byte, or on the session closing. */
export function terminateNotice(reason: string): Buffer {
  return encodeFrame('T', [reason])
}
