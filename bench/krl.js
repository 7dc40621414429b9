#!/usr/bin/env node
/**
 * bench/krl: how long encoding the KRL takes (`encodeKrl`, PROTOCOL.krl) for 100 to 100,000 revoked user
 * certificates: one user-CA section with their serials and key ids shaped as Writ issues them
 * (`writ:agent=<uuid>:task=<id>:jti=<uuidv7>`, ~110 bytes). The server re-encodes only when the revoked set changed,
 * so this is the cost a revocation adds before hosts can fetch the new list. Context only: no gate.
 *
 *   npm run bench:krl        # tsc -b && node bench/krl.js
 *   node bench/krl.js --runs=5
 *
 * The last line of stdout is one JSON object: per size, the mean and best milliseconds and the KRL's size.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { encodeKrl } from '../packages/server/dist/ssh/ssh-krl.js'
import { ed25519Blob } from '../packages/server/dist/ssh/ssh-public-key.js'
import { benchArgs, round2 } from './lib/options.js'

const { num } = benchArgs()
const RUNS = num('runs', 5)
const SIZES = [100, 1_000, 10_000, 100_000]
const ca = ed25519Blob(generateKeyPairSync('ed25519').publicKey)

const results = {}
for (const size of SIZES) {
  const serials = Array.from({ length: size }, (_, i) => BigInt(i) * 7919n + 1n)
  const keyIds = Array.from({ length: size }, () => `writ:agent=${randomUUID()}:task=T-${randomUUID().slice(0, 8)}:jti=${randomUUID()}`)
  const contents = { version: 1n, generatedAt: Math.floor(Date.now() / 1000), comment: 'writ', sections: [{ ca, serials, keyIds }] }
  encodeKrl(contents) // warm-up
  const times = []
  let bytes = 0
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now()
    bytes = encodeKrl(contents).length
    times.push(performance.now() - started)
  }
  results[size] = { mean_ms: round2(times.reduce((a, b) => a + b, 0) / times.length), best_ms: round2(Math.min(...times)), kib: round2(bytes / 1024) }
  process.stderr.write(`[bench:krl] ${size} revoked: ${results[size].mean_ms} ms mean, ${results[size].kib} KiB\n`)
}
process.stdout.write(`${JSON.stringify({ benchmark: 'krl', runs: RUNS, revoked: results, node: process.version })}\n`)
