import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

/**
 * What every bench reads from its command line, once: `--name=value` and bare `--flag` (value 'true'), `--quick` or
 * BENCH_QUICK=1 for short smoke runs, and the figures' arithmetic, so every bench reports medians the same way.
 */
export function benchArgs(argv = process.argv.slice(2)) {
  const args = new Map(argv.map((a) => {
    const [k, ...v] = a.replace(/^--/, '').split('=')
    return [k, v.length > 0 ? v.join('=') : 'true']
  }))
  const quick = args.has('quick') || process.env.BENCH_QUICK === '1'
  const num = (name, fallback) => (args.has(name) ? Number(args.get(name)) : fallback)
  return { args, quick, num }
}

/** The lower median: with an even count, the smaller of the two middle values (a conservative figure). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
export const round2 = (x) => Math.round(x * 100) / 100

/** `--cpu-prof`: node flags that write the server's V8 CPU profile to bench/results/profiles/ (git-ignored). */
export function cpuProfileArgs(root, args) {
  if (!args.has('cpu-prof')) return []
  const dir = join(root, 'bench', 'results', 'profiles')
  mkdirSync(dir, { recursive: true })
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`]
}
