#!/usr/bin/env node
/**
 * bench/profile-summary: the functions with the most self time in a V8 CPU profile (what `node bench/mint.js
 * --cpu-prof` writes to bench/results/profiles/), as a share of the profile's samples, idle included.
 *
 *   node bench/profile-summary.js bench/results/profiles/CPU.<...>.cpuprofile [top=40]
 *
 * The samples are taken on a wall-clock timer: a thread preempted inside a function is counted in it.
 */
import { readFileSync } from 'node:fs'

const [file, top = '40'] = process.argv.slice(2)
if (!file) throw new Error('usage: node bench/profile-summary.js <file.cpuprofile> [top]')
const profile = JSON.parse(readFileSync(file, 'utf8'))
const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map()
for (const id of profile.samples) {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame
  const key = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber}`
  self.set(key, (self.get(key) ?? 0) + 1)
}
const total = profile.samples.length
for (const [key, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  process.stdout.write(`${((100 * count) / total).toFixed(1).padStart(5)} %  ${key}\n`)
}
