#!/usr/bin/env node
/**
 * bench/idle-rss: the Writ server's resident memory once it has started and settled, with no load: what every
 * deployment pays before its first request. Compared in the same run with a bare `node` process (the floor) and,
 * with --baseline-root, with another checkout's build (e.g. a worktree of the previous commit). Starts alternate
 * between the builds; the figures are medians.
 *
 *   node bench/idle-rss.js                      # --runs=5 --settle=4
 *   node bench/idle-rss.js --baseline-root=/tmp/base --runs=7
 *
 * Progress goes to stderr; the last line of stdout is one JSON object.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnNode, stop } from './lib/proc.js'
import { startWritServer } from './lib/writ-server.js'
import { benchArgs, median } from './lib/options.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { args } = benchArgs()
const runs = Number(args.get('runs') ?? 5)
const settleMs = Number(args.get('settle') ?? 4) * 1000
const builds = [{ key: 'writ', root }, ...(args.has('baseline-root') ? [{ key: 'baseline', root: args.get('baseline-root') }] : [])]

const log = (message) => process.stderr.write(`[bench:idle-rss] ${message}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const round = (x) => Math.round(x * 10) / 10

/** VmRSS and its anonymous part (heaps, malloc arenas; the rest is the mapped node binary and libraries), in MiB. */
function residentMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 }
}

async function startServer(buildRoot) {
  const { server, stop } = await startWritServer(buildRoot)
  return { pid: server.pid, stop }
}

async function bareNode() {
  const child = spawnNode(['-e', 'setInterval(() => {}, 1000)'])
  return { pid: child.pid, stop: () => stop(child) }
}

const samples = Object.fromEntries([...builds.map((b) => b.key), 'bare_node'].map((k) => [k, []]))
for (let run = 1; run <= runs; run++) {
  for (const target of [...builds, { key: 'bare_node' }]) {
    const process_ = target.root ? await startServer(target.root) : await bareNode()
    await sleep(settleMs)
    const figures = residentMb(process_.pid)
    samples[target.key].push(figures)
    await process_.stop()
    log(`run ${run}: ${target.key} rss ${figures.rss.toFixed(1)} MB (anonymous ${figures.anon.toFixed(1)} MB)`)
  }
}
const summary = (list) => ({ rss_mb: round(median(list.map((s) => s.rss))), anon_mb: round(median(list.map((s) => s.anon))), rss_mb_runs: list.map((s) => round(s.rss)) })
const output = { benchmark: 'idle-rss', runs, settle_seconds: settleMs / 1000, ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summary(v)])), node: process.version, date: new Date().toISOString() }
if (args.has('baseline-root')) output.baseline.root = args.get('baseline-root')
process.stdout.write(`${JSON.stringify(output)}\n`)
