/**
 * `writ host agent`: the host-side daemon. Answers the sudo plugin over the root-only socket (verify, match, spend,
 * record), completes run reports and sends them to the control plane, keeps sshd's KRL current, and follows Writ's
 * revocation stream (strict: an unknown revocation state refuses every sudo).
 */
import { readdirSync, readFileSync } from 'node:fs'
import type { Server, Socket } from 'node:net'
import { constants as osConstants } from 'node:os'
import type { JsonWebKey, KeyObject } from 'node:crypto'
import {
  createCapabilityVerifier, subscribeRevocations,
  type CapabilityClaims, type CapabilityVerifier, type JwsHeader, type RevocationSubscription,
} from '@writ/sdk'
import { hostApiTokenSource, type ApiTokenSource } from './api-token-source.js'
import { listenOnAgentSocket, type HeldReply } from './agent-socket.js'
import type { HostConfig } from './host-config.js'
import { openHostState, type HostState } from './host-state.js'
import { renewHostCertificateIfDue } from './host-certificate-renewal.js'
import { createKrlInstaller, type KrlInstaller } from './krl-installer.js'
import { startReportSender, type ReportSender } from './report-sender.js'
import { decideSudo } from './sudo-check.js'
import {
  ackReply, allowReply, denyReply, FrameError, parsePluginRequest, terminateNotice, type EndRequest, type SessionRequest,
} from './sudo-wire.js'

/** sudo.exec tokens live at most 5 minutes (docs/tokens.md); a longer-lived one is refused even if correctly signed. */
export const SUDO_TOKEN_MAX_LIFETIME_SECONDS = 300
/** How long a revoked run has to end on SIGTERM before its session is ended, which makes sudo kill it. */
const REVOKED_RUN_GRACE_MS = 2_000

export interface HostAgentOptions {
  config: HostConfig
  privateKey: KeyObject | JsonWebKey
  /** JSON-line logger; never receives a token. Default: stdout. */
  log?: (entry: Record<string, unknown>) => void
  fetch?: typeof fetch
  /** For tests: Writ's API token from elsewhere, the revocation stream at another URL. */
  apiToken?: ApiTokenSource
  revocationEventsUrl?: string
  reportBackoff?: { initialMs?: number; maxMs?: number }
  /** Renew the SSH host certificate when less than this is left (default 10 days). */
  hostCertificateRenewBeforeSeconds?: number
  nowMs?: () => number
}

export interface HostAgent {
  readonly socketPath: string
  /** The first host-certificate check (undefined when the config names no SSH host key). */
  readonly certificateChecked: Promise<'renewed' | 'current' | 'failed' | undefined>
  readonly revocations: RevocationSubscription
  readonly reports: ReportSender
  readonly krl: KrlInstaller | undefined
  close(): Promise<void>
}

export async function startHostAgent(options: HostAgentOptions): Promise<HostAgent> {
  const { config } = options
  // The host agent's one reader of the system time; everything below takes `nowMs`.
  const nowMs = options.nowMs ?? Date.now
  const log = options.log ?? ((entry) => process.stdout.write(`${JSON.stringify({ time: new Date(nowMs()).toISOString(), ...entry })}\n`))
  const issuer = config.issuer.replace(/\/$/, '')
  const apiToken = options.apiToken ?? hostApiTokenSource({
    issuer: config.issuer, hostId: config.host_id, privateKey: options.privateKey, ...(options.fetch ? { fetch: options.fetch } : {}),
  })
  const state: HostState = openHostState(config.state_dir, nowMs)
  // Runs in progress, by report id: a revocation that covers one's token ends it (SIGTERM to its sudo and the command,
  // and a 'T' on its session), and so does this daemon going away (the plugin sees its session close: SUDO-05).
  const running = new Map<string, RunningCommand>()

  const krl = config.krl_path === undefined ? undefined : createKrlInstaller({
    url: `${issuer}/ssh/krl`, path: config.krl_path, apiToken, log, ...(options.fetch ? { fetch: options.fetch } : {}),
  })
  const revocations = subscribeRevocations({
    issuer: config.issuer,
    mode: 'strict',
    accessToken: ({ refresh }) => apiToken(refresh),
    ...(options.revocationEventsUrl !== undefined ? { eventsUrl: options.revocationEventsUrl } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    // Push: a revocation reaches sshd's KRL at once, not at the next interval.
    onRevocation: () => {
      void krl?.refresh()
      terminateRevokedRuns()
    },
    onError: (error) => log({ event: 'revocations.error', error: error.message }),
  })
  const verifier: CapabilityVerifier = createCapabilityVerifier({
    issuer: config.issuer,
    audience: config.audience,
    jwks: `${issuer}/.well-known/jwks.json`,
    maxLifetimeSeconds: SUDO_TOKEN_MAX_LIFETIME_SECONDS,
    isRevoked: revocations.isRevoked,
  })
  const reports = startReportSender({
    state, endpoint: `${issuer}/hosts/actions`, apiToken, log, nowMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.reportBackoff ? { backoff: options.reportBackoff } : {}),
  })

  async function handle(payload: Buffer): Promise<Buffer | HeldReply> {
    let request
    try {
      request = parsePluginRequest(payload)
    } catch (error) {
      if (error instanceof FrameError) {
        log({ event: 'socket.malformed', error: error.message })
        return denyReply('malformed request')
      }
      throw error
    }
    if (request.kind === 'end') return completeRun(request)
    if (request.kind === 'session') return openSession(request)
    const decision = await decideSudo(request, { verifier, state, hostName: config.name, nowMs })
    const entry = { user: request.user, runas: request.runas, command: request.command, argv: request.argv, jti: decision.jti }
    if (decision.allow) {
      running.set(decision.reportId, { pid: request.sudoPid, startTime: processStartTime(request.sudoPid), claims: decision.claims, header: decision.header })
      log({ event: 'sudo.allowed', ...entry, report_id: decision.reportId })
      return allowReply(decision.reportId)
    }
    log({ event: 'sudo.refused', ...entry, reason: decision.reason })
    if (decision.jti !== undefined) reports.kick()
    return denyReply(decision.message)
  }

  function terminateRevokedRuns(): void {
    for (const [reportId, run] of running) {
      let revoked: boolean
      try {
        revoked = revocations.isRevoked(run.claims.iss, run.claims.jti, run.claims, run.header)
      } catch {
        continue // not current: the next event decides
      }
      if (!revoked) continue
      running.delete(reportId)
      // SIGTERM first, so the command ends with a status sudo reports. A command still running after the grace period
      // (it ignored the signal, or the pid could not be checked) is ended through its session: sudo then sends SIGHUP,
      // SIGTERM and SIGKILL itself, but reports no status, since it stops waiting for the command.
      const grace = run.startTime === undefined ? 0 : REVOKED_RUN_GRACE_MS
      setTimeout(() => endSession(run, 'revoked'), grace).unref()
      // The pid is signalled only while it is still the same process (same start time): a reused pid is left alone.
      if (run.startTime === undefined || processStartTime(run.pid) !== run.startTime) continue
      try {
        process.kill(run.pid, 'SIGTERM')
        // sudo ignores a signal from a process in its own process group (a daemon started from the same session):
        // its direct children (the command, or sudo's pty monitor, which relays) get one as well.
        for (const child of childrenOf(run.pid)) {
          try { process.kill(child, 'SIGTERM') } catch { /* already gone */ }
        }
        log({ event: 'sudo.terminated', report_id: reportId, jti: run.claims.jti, pid: run.pid, reason: 'revoked' })
      } catch (error) {
        log({ event: 'sudo.terminate_failed', report_id: reportId, error: (error as Error).message })
      }
    }
  }

  /** The run's audit channel: held open while the command runs; only an allowed run still in progress gets one. */
  function openSession(request: SessionRequest): Buffer | HeldReply {
    const run = running.get(request.reportId)
    if (run === undefined || run.session !== undefined) return denyReply('no such run in progress')
    return {
      reply: ackReply(),
      hold(socket) {
        run.session = socket
        log({ event: 'sudo.session', report_id: request.reportId, jti: run.claims.jti })
        const closed = () => {
          if (run.session !== socket) return
          run.session = undefined
          socket.destroy()
        }
        socket.on('end', closed)
        socket.on('close', closed)
      },
    }
  }

  /** Ends a run's session: the plugin breaks sudo's loop and sudo ends the command (SIGHUP, SIGTERM, SIGKILL). */
  function endSession(run: RunningCommand, reason: string): void {
    const session = run.session
    if (session === undefined) return
    run.session = undefined
    session.end(terminateNotice(reason), () => session.destroy())
  }

  function completeRun(request: EndRequest): Buffer {
    running.delete(request.reportId)
    const { kind, value } = request.status
    const end = {
      exit_status: kind === 'exit' ? value : null,
      signal: kind === 'signal' ? signalName(value) : null,
      ended_at: nowMs(),
    }
    try {
      if (state.complete(request.reportId, end)) {
        log({ event: 'sudo.ended', report_id: request.reportId, ...end })
        reports.kick()
      }
    } catch (error) {
      // The started report stays spooled and is sent as is once stale: the run is never lost, only its end.
      log({ event: 'report.complete_failed', report_id: request.reportId, error: (error as Error).message })
    }
    return ackReply()
  }

  const server: Server = await listenOnAgentSocket(config.socket_path, handle, (error) => log({ event: 'socket.error', error: error.message }))

  const krlTimer = krl === undefined ? undefined : setInterval(() => { void krl.refresh() }, (config.krl_interval_seconds ?? 30) * 1000)
  krlTimer?.unref()
  if (krl !== undefined) void krl.refresh()
  // The SSH host certificate: checked at start and every hour, renewed when less than 10 days are left.
  const renewCertificate = config.ssh_host_public_key_path === undefined || config.ssh_host_certificate_path === undefined
    ? undefined
    : () => renewHostCertificateIfDue({
      url: `${issuer}/ssh/host-certificate`, publicKeyPath: config.ssh_host_public_key_path!, certificatePath: config.ssh_host_certificate_path!,
      apiToken, log, nowSeconds: () => Math.floor(nowMs() / 1000),
      ...(options.hostCertificateRenewBeforeSeconds !== undefined ? { renewBeforeSeconds: options.hostCertificateRenewBeforeSeconds } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    })
  const certificateTimer = renewCertificate === undefined ? undefined : setInterval(() => { void renewCertificate() }, 3600_000)
  certificateTimer?.unref()
  const certificateChecked = renewCertificate === undefined ? Promise.resolve(undefined) : renewCertificate()
  // Backstop for the push: an event that arrived while the list was not current is acted on once it is.
  const terminateTimer = setInterval(() => { if (running.size > 0) terminateRevokedRuns() }, 1_000)
  terminateTimer.unref()
  // Spent jtis are kept until their token could no longer verify (exp plus the verifier's leeway, with margin).
  const pruneTimer = setInterval(() => {
    try {
      state.prune(Math.floor(nowMs() / 1000) - 120, nowMs() - 7 * 24 * 3600_000)
    } catch (error) {
      log({ event: 'state.prune_failed', error: (error as Error).message })
    }
  }, 60_000)
  pruneTimer.unref()
  log({ event: 'host_agent.started', host: config.name, socket: config.socket_path })

  return {
    socketPath: config.socket_path,
    certificateChecked,
    revocations,
    reports,
    krl,
    async close() {
      clearInterval(pruneTimer)
      clearInterval(terminateTimer)
      if (krlTimer !== undefined) clearInterval(krlTimer)
      if (certificateTimer !== undefined) clearInterval(certificateTimer)
      await certificateChecked.catch(() => undefined)
      // SUDO-05: a run this daemon can no longer record does not go on. Its sudo sees the session close and ends it.
      for (const run of running.values()) run.session?.destroy()
      revocations.close()
      reports.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      state.close()
    },
  }
}

interface RunningCommand {
  pid: number
  /** undefined when /proc could not be read: the run is then ended through its session only, never by pid. */
  startTime: string | undefined
  claims: CapabilityClaims
  header: Readonly<JwsHeader>
  session?: Socket
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot): with the pid, it names one process for good. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[19]
  } catch {
    return undefined
  }
}

function childrenOf(pid: number): number[] {
  const children: number[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return children
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry))
    } catch {
      // exited meanwhile
    }
  }
  return children
}

function signalName(value: number): string {
  for (const [name, number] of Object.entries(osConstants.signals)) if (number === value) return name
  return `SIG${value}`
}
