/**
 * The KRL that hosts install as sshd's `RevokedKeys`: every still-valid user certificate that a revocation covers
 * (its token, task, agent, a grant of its chain, its token's signing key: RevocationState decides, with the same rules
 * as every verifier), user certificates for removed hosts, and host certificates of removed hosts. Kept in memory and
 * updated per revocation event (one indexed query per event), and each event's query is repeated on every sweep for a
 * minute, which catches a certificate that another replica issued while the event was on its way there (its row
 * committed after the first query). The bytes are re-encoded only when the set changed.
 */
import { createHash } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { Logger } from '../logger.js'
import type { RevocationFeed } from '../revocation/revocation-feed.js'
import type { RevocationState } from '../revocation/revocation-state.js'
import type { SshCertificateRepository, SshCertificateRow } from '../storage/ssh-certificate-repository.js'
import type { SshHostDirectory } from './host-directory.js'
import type { SshCertificateAuthorities } from './ssh-certificate-authorities.js'
import { encodeKrl } from './ssh-krl.js'

export interface SshRevocationListDeps {
  certificates: Pick<SshCertificateRepository, 'liveCandidates' | 'liveIssuedSince' | 'liveForHosts'>
  revocationState: Pick<RevocationState, 'isRevoked'>
  feed: Pick<RevocationFeed, 'subscribe' | 'catchUp'>
  hosts: Pick<SshHostDirectory, 'removedNames'>
  cas: SshCertificateAuthorities
  clock: Clock
  logger: Logger
}

interface Revoked {
  kind: 'user' | 'host'
  keyId: string
  validBeforeMs: number
}

export interface KrlSnapshot {
  bytes: Buffer
  etag: string
  version: number
  /** Revoked certificates it names. */
  count: number
}

// How long an event's query is repeated: longer than any replica takes to learn of an event (the feed's backstop poll
// is at most 60 s) plus the issuing transaction's commit.
const RECHECK_WINDOW_MS = 90_000

export class SshRevocationList {
  private readonly revoked = new Map<string, Revoked>()
  private version = 0
  private snapshot: KrlSnapshot | undefined
  private work: Promise<void> = Promise.resolve()
  private recent: Array<{ kind: string; value: string; seenMs: number }> = []
  /** Removed hosts by when this replica first saw them removed; each is queried during the recheck window only. */
  private readonly removedSeen = new Map<string, number>()
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly deps: SshRevocationListDeps) {}

  /** Loads what is revoked now and follows the feed. RevocationState must have subscribed first (it has, in app.ts). */
  async start(sweepIntervalMs: number): Promise<void> {
    this.deps.feed.subscribe((events) => {
      this.enqueue(async () => {
        for (const { event } of events) {
          const value = event.jti ?? event.task_id ?? event.agent_id ?? event.kid
          if (value === undefined) continue
          this.recent.push({ kind: event.kind, value, seenMs: this.deps.clock.nowMs() })
          this.consider(await this.deps.certificates.liveCandidates(event.kind, value, this.deps.clock.nowMs()))
        }
      })
    })
    // At start, every live certificate against what is revoked now (bounded: certificates live 15 minutes at most).
    await this.enqueue(async () => { this.consider(await this.deps.certificates.liveIssuedSince(0, this.deps.clock.nowMs())) })
    await this.sweep()
    this.timer = setInterval(() => { void this.sweep() }, sweepIntervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /**
   * Repeats the queries of recent revocation events and adds the certificates of recently removed hosts. Its cost
   * follows the revocations and removals of the last 90 s, never the issuance rate.
   */
  sweep(): Promise<void> {
    return this.enqueue(async () => {
      const now = this.deps.clock.nowMs()
      this.recent = this.recent.filter((r) => r.seenMs + RECHECK_WINDOW_MS > now)
      for (const { kind, value } of this.recent) this.consider(await this.deps.certificates.liveCandidates(kind, value, now))
      for (const name of this.deps.hosts.removedNames()) if (!this.removedSeen.has(name)) this.removedSeen.set(name, now)
      // A removed host gets no new certificate (HOST_NOT_FOUND, on other replicas within their registry refresh), so
      // its certificates are collected for a while after its removal and then stay in the set until they expire.
      const removed = [...this.removedSeen].filter(([, seen]) => seen + RECHECK_WINDOW_MS > now).map(([name]) => name)
      if (removed.length > 0) this.add(await this.deps.certificates.liveForHosts(removed, now))
    })
  }

  /** The current KRL: reads revocation events committed so far first, so a host fetching after a revoke sees it. */
  async current(): Promise<KrlSnapshot> {
    await this.deps.feed.catchUp()
    await this.work
    return this.encoded()
  }

  /** Settles once queued updates are applied (tests). */
  settled(): Promise<void> {
    return this.work
  }

  private consider(rows: readonly SshCertificateRow[]): void {
    this.add(rows.filter((row) => row.kind === 'user' && this.deps.revocationState.isRevoked(claimsOf(row), row.kid ?? undefined)))
  }

  private add(rows: readonly SshCertificateRow[]): void {
    for (const row of rows) {
      if (this.revoked.has(row.serial)) continue
      this.revoked.set(row.serial, { kind: row.kind === 'host' ? 'host' : 'user', keyId: row.key_id, validBeforeMs: Number(row.valid_before) })
      this.snapshot = undefined
    }
  }

  // One update at a time, in order; a failed one is logged and the next sweep repairs what it missed.
  private enqueue(task: () => Promise<void>): Promise<void> {
    this.work = this.work.then(task).catch((error: unknown) => {
      this.deps.logger.error('updating the SSH revocation list failed; the next sweep retries', { error: String(error) })
    })
    return this.work
  }

  private encoded(): KrlSnapshot {
    const now = this.deps.clock.nowMs()
    // An expired certificate is refused by sshd anyway: it leaves the list, which stays bounded by what is live.
    for (const [serial, entry] of this.revoked) {
      if (entry.validBeforeMs <= now) {
        this.revoked.delete(serial)
        this.snapshot = undefined
      }
    }
    if (this.snapshot !== undefined) return this.snapshot
    const users = [...this.revoked].filter(([, e]) => e.kind === 'user')
    const hosts = [...this.revoked].filter(([, e]) => e.kind === 'host')
    const version = ++this.version
    const bytes = encodeKrl({
      version: BigInt(version),
      generatedAt: Math.floor(now / 1000),
      comment: 'writ',
      sections: [
        { ca: this.deps.cas.user.publicKey.blob, serials: users.map(([s]) => BigInt(s)), keyIds: users.map(([, e]) => e.keyId) },
        { ca: this.deps.cas.host.publicKey.blob, serials: hosts.map(([s]) => BigInt(s)), keyIds: [] },
      ],
    })
    this.snapshot = { bytes, etag: `"${createHash('sha256').update(bytes).digest('base64url')}"`, version, count: this.revoked.size }
    return this.snapshot
  }
}

/** The token claims stored with a user certificate, in the shape RevocationList matches. */
function claimsOf(row: SshCertificateRow) {
  return {
    iss: row.iss ?? '', jti: row.jti ?? '', sub: row.subject ?? '', client_id: row.agent_id ?? '', iat: Number(row.token_iat ?? 0),
    task: { id: row.task_id ?? '' },
    act: row.act === null ? undefined : JSON.parse(row.act) as never,
    parent: row.parent ?? undefined,
  }
}
