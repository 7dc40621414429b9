/** Walks the audit chain and names the first record that breaks it (edited, deleted, reordered or truncated). */
import { GENESIS_HASH, hashRecord, type AuditRecord } from './audit-record.js'
import type { AuditRepository } from '../storage/audit-repository.js'

export interface ChainReport {
  ok: boolean
  /** Records checked. */
  count: number
  headSeq: number
  headHash: string
  /** The first seq that does not verify, and why. */
  firstBad?: { seq: number; reason: string }
}

const PAGE = 2_000

export async function verifyChain(audit: AuditRepository): Promise<ChainReport> {
  const head = await audit.head()
  let expectedSeq = 1
  let prevHash = GENESIS_HASH
  let count = 0
  const fail = (seq: number, reason: string): ChainReport =>
    ({ ok: false, count, headSeq: head.seq, headHash: head.hash, firstBad: { seq, reason } })

  for (let page = await audit.page(0, PAGE); page.length > 0; page = await audit.page(expectedSeq - 1, PAGE)) {
    for (const row of page) {
      if (row.seq !== expectedSeq) return fail(expectedSeq, `record ${expectedSeq} is missing (next is ${row.seq})`)
      let record: AuditRecord
      try {
        record = JSON.parse(row.record) as AuditRecord
      } catch {
        return fail(row.seq, 'record is not valid JSON')
      }
      const { hash, ...unsealed } = record
      if (record.seq !== row.seq) return fail(row.seq, 'record seq differs from its position')
      if (record.prev_hash !== prevHash || row.prev_hash !== prevHash) return fail(row.seq, 'prev_hash does not name the record before')
      if (hashRecord(unsealed) !== hash || row.hash !== hash) return fail(row.seq, 'hash does not match the record content')
      prevHash = hash
      expectedSeq++
      count++
    }
  }
  // Tail truncation: the head row remembers the last append; rows missing after it are caught here.
  if (head.seq !== count) return fail(count + 1, `chain ends at ${count} but the head names ${head.seq}`)
  if (head.hash !== prevHash) return fail(count, 'head hash does not match the last record')
  return { ok: true, count, headSeq: head.seq, headHash: head.hash }
}
