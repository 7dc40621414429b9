/** Walks the audit chain and names the first record that breaks it (edited, deleted, reordered or truncated). */
import { GENESIS_HASH, hashRecord, type AuditRecord, type ChainHead } from './audit-record.js'
import type { AuditRepository, StoredAuditRow } from '../storage/audit-repository.js'

export interface ChainReport {
  ok: boolean
  /** Records checked (since `from`, when given). */
  count: number
  headSeq: number
  headHash: string
  /** The first seq that does not verify, and why. */
  firstBad?: { seq: number; reason: string }
}

export interface VerifyOptions {
  /** A record verified before (the self-check's last head): the walk re-checks that record and goes on after it. */
  from?: ChainHead
  pageSize?: number
}

const PAGE = 2_000

export async function verifyChain(audit: Pick<AuditRepository, 'head' | 'page'>, options: VerifyOptions = {}): Promise<ChainReport> {
  // The head is read first and the walk stops at it: records appended meanwhile are the next pass's work, and a walk
  // that counted them would report a head behind the chain on a busy server.
  const head = await audit.head()
  const from = options.from ?? { seq: 0, hash: GENESIS_HASH }
  const pageSize = options.pageSize ?? PAGE
  let expectedSeq = from.seq + 1
  let prevHash = from.hash
  let count = 0
  const fail = (seq: number, reason: string): ChainReport =>
    ({ ok: false, count, headSeq: head.seq, headHash: head.hash, firstBad: { seq, reason } })

  if (from.seq > head.seq) return fail(head.seq + 1, `the head names ${head.seq} but record ${from.seq} was verified before`)
  if (from.seq > 0) {
    // The record a previous walk ended on must still be the one it verified: a row rewritten with a recomputed hash
    // would otherwise pass, since the prev_hash of the record after it still names the old hash.
    const [row] = await audit.page(from.seq - 1, 1)
    if (row?.seq !== from.seq) return fail(from.seq, `record ${from.seq} is missing`)
    const sealed = sealProblem(row)
    if (typeof sealed === 'string') return fail(from.seq, sealed)
    if (row.hash !== from.hash) return fail(from.seq, 'record changed after it was verified')
  }

  walk: for (let page = await audit.page(from.seq, pageSize); page.length > 0; page = await audit.page(expectedSeq - 1, pageSize)) {
    for (const row of page) {
      if (row.seq > head.seq) break walk
      if (row.seq !== expectedSeq) return fail(expectedSeq, `record ${expectedSeq} is missing (next is ${row.seq})`)
      const sealed = sealProblem(row)
      if (typeof sealed === 'string') return fail(row.seq, sealed)
      if (sealed.prev_hash !== prevHash || row.prev_hash !== prevHash) return fail(row.seq, 'prev_hash does not name the record before')
      prevHash = row.hash
      expectedSeq++
      count++
    }
    // Hashing is synchronous (and so are SQLite reads under their promises): yield between pages, so that a long walk
    // inside the server never holds up the requests it serves.
    await new Promise((resolve) => setImmediate(resolve))
  }
  const lastSeq = expectedSeq - 1
  // Tail truncation: the head row remembers the last append; rows missing after it are caught here.
  if (lastSeq !== head.seq) return fail(lastSeq + 1, `chain ends at ${lastSeq} but the head names ${head.seq}`)
  if (head.hash !== prevHash) return fail(lastSeq, 'head hash does not match the last record')
  return { ok: true, count, headSeq: head.seq, headHash: head.hash }
}

/** The record of a row, or why it does not verify on its own (its links are checked by the caller). */
function sealProblem(row: StoredAuditRow): AuditRecord | string {
  let record: AuditRecord
  try {
    record = JSON.parse(row.record) as AuditRecord
  } catch {
    return 'record is not valid JSON'
  }
  const { hash, ...unsealed } = record
  if (record.seq !== row.seq) return 'record seq differs from its position'
  if (hashRecord(unsealed) !== hash || row.hash !== hash) return 'hash does not match the record content'
  return record
}
