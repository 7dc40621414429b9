/**
 * The host agent's durable state, one SQLite file in the state directory (WAL, synchronous=FULL: a transaction is on
 * disk before the call returns):
 * - spent_tokens: every capability jti this host has let run. Spending it and writing the run's "started" report are
 *   one transaction, taken before the plugin is told "allow"; a crash or a full disk then refuses (SUDO-04), and a
 *   restarted daemon still refuses a spent token. Rows are pruned once the token has expired (plus leeway).
 * - reports: the spool of action reports for `POST /hosts/actions`, sent and marked, retried until the server takes them.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'

/** One action report, exactly as `POST /hosts/actions` takes it. */
export interface ActionReport {
  id: string
  jti: string
  runas: string
  argv: string[]
  command: string
  user: string
  exit_status: number | null
  signal: string | null
  started_at: number
  ended_at: number | null
  outcome: 'ran' | 'refused'
  reason?: string
}

export interface HostState {
  /** Spends `jti` and spools the started report in one transaction; false when the jti was already spent. Throws when the disk does. */
  spendAndStart(jti: string, expiresAt: number, report: ActionReport): boolean
  /** Spools a finished report (a refusal) at once. */
  spool(report: ActionReport): void
  /** Completes a started report; false when there is no such started report. */
  complete(id: string, end: { exit_status: number | null; signal: string | null; ended_at: number }): boolean
  /** Reports to send: complete ones, and started ones older than `staleBeforeMs` (their run never reported an end). */
  pending(limit: number, staleBeforeMs: number): ActionReport[]
  markSent(ids: readonly string[]): void
  isSpent(jti: string): boolean
  /** Forgets spent jtis whose token expired before `beforeSeconds`, and sent reports older than `sentBeforeMs`. */
  prune(beforeSeconds: number, sentBeforeMs: number): void
  close(): void
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS spent_tokens (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reports (
  id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('started', 'complete')),
  created_ms INTEGER NOT NULL,
  sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reports_unsent ON reports (sent, created_ms);
`

export function openHostState(stateDir: string, nowMs: () => number = Date.now): HostState {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  chmodSync(stateDir, 0o700)
  const path = join(stateDir, 'host-agent.sqlite')
  closeSync(openSync(path, 'a', 0o600))
  chmodSync(path, 0o600)
  const db = new BetterSqlite3(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('busy_timeout = 5000')
  db.exec(SCHEMA)

  const insertSpent = db.prepare('INSERT INTO spent_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING')
  const insertReport = db.prepare('INSERT INTO reports (id, body, state, created_ms) VALUES (?, ?, ?, ?)')
  const selectStarted = db.prepare<[string], { body: string }>("SELECT body FROM reports WHERE id = ? AND state = 'started'")
  const updateReport = db.prepare("UPDATE reports SET body = ?, state = 'complete' WHERE id = ? AND state = 'started'")
  const selectPending = db.prepare<[number, number], { body: string; state: string }>(
    "SELECT body, state FROM reports WHERE sent = 0 AND (state = 'complete' OR created_ms < ?) ORDER BY created_ms LIMIT ?",
  )
  const markOne = db.prepare('UPDATE reports SET sent = 1 WHERE id = ?')
  const selectSpent = db.prepare<[string], { jti: string }>('SELECT jti FROM spent_tokens WHERE jti = ?')
  const pruneSpent = db.prepare('DELETE FROM spent_tokens WHERE expires_at < ?')
  const pruneSent = db.prepare('DELETE FROM reports WHERE sent = 1 AND created_ms < ?')

  const spendAndStart = db.transaction((jti: string, expiresAt: number, report: ActionReport): boolean => {
    if (insertSpent.run(jti, expiresAt).changes !== 1) return false
    insertReport.run(report.id, JSON.stringify(report), 'started', nowMs())
    return true
  })
  const markSent = db.transaction((ids: readonly string[]) => {
    for (const id of ids) markOne.run(id)
  })

  return {
    spendAndStart: (jti, expiresAt, report) => spendAndStart(jti, expiresAt, report),
    spool(report) {
      insertReport.run(report.id, JSON.stringify(report), 'complete', nowMs())
    },
    complete(id, end) {
      const row = selectStarted.get(id)
      if (row === undefined) return false
      const report = { ...(JSON.parse(row.body) as ActionReport), ...end }
      return updateReport.run(JSON.stringify(report), id).changes === 1
    },
    pending(limit, staleBeforeMs) {
      return selectPending.all(staleBeforeMs, limit).map((row) => JSON.parse(row.body) as ActionReport)
    },
    markSent: (ids) => markSent(ids),
    isSpent: (jti) => selectSpent.get(jti) !== undefined,
    prune(beforeSeconds, sentBeforeMs) {
      pruneSpent.run(beforeSeconds)
      pruneSent.run(sentBeforeMs)
    },
    close: () => db.close(),
  }
}
