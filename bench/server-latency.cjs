/**
 * bench/server-latency: a preload for the Writ server under bench/mint that prints, every 5 s on stderr, the latency
 * the server itself sees (from its 'request' event to the response's 'finish'), its event-loop delay and its GC
 * pauses. Beside the load generator's figures it separates the server's share of a tail from the host's and the
 * generator's.
 *
 *   node bench/mint.js --skip-oidc --skip-soak --rounds=1 --seconds=2 --concurrency=32 --rate=500 \
 *     --server-node-args="--require=./bench/server-latency.cjs"
 *
 * Diagnostics only: it wraps http.Server#emit, which the shipped server never does.
 */
'use strict'
const http = require('node:http')
const { monitorEventLoopDelay, PerformanceObserver } = require('node:perf_hooks')
const { isMainThread } = require('node:worker_threads')

const WINDOW_MS = 5_000

if (isMainThread) {
  const latencies = []
  let gc = { count: 0, totalMs: 0, maxMs: 0 }
  const emit = http.Server.prototype.emit
  http.Server.prototype.emit = function (event, request, response) {
    if (event === 'request') {
      const start = performance.now()
      response.once('finish', () => latencies.push(performance.now() - start))
    }
    return emit.apply(this, arguments)
  }
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++
      gc.totalMs += entry.duration
      gc.maxMs = Math.max(gc.maxMs, entry.duration)
    }
  }).observe({ entryTypes: ['gc'] })

  setInterval(() => {
    if (latencies.length >= 100) {
      latencies.sort((a, b) => a - b)
      const q = (p) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)].toFixed(2)
      const ms = (ns) => (ns / 1e6).toFixed(1)
      process.stderr.write(`[server-latency] ${latencies.length} requests: p50 ${q(0.5)} p99 ${q(0.99)} max ${q(1)} ms`
        + ` | event-loop delay p99 ${ms(loop.percentile(99))} max ${ms(loop.max)} ms`
        + ` | gc ${gc.count} pauses, ${gc.totalMs.toFixed(0)} ms in all, max ${gc.maxMs.toFixed(1)} ms\n`)
    }
    latencies.length = 0
    loop.reset()
    gc = { count: 0, totalMs: 0, maxMs: 0 }
  }, WINDOW_MS).unref()
}
