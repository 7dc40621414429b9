/**
 * applyProcessDefaults(): the process settings Node reads only once, at start. The executables (the server's
 * launch.cts, the CLI's writ.cts) call it before anything else: libuv's thread pool keeps the size it had when first
 * used, and an ES module entry is itself read through the pool, so these entries are CommonJS.
 */
import os = require('node:os')

function applyProcessDefaults(env: NodeJS.ProcessEnv = process.env, cores: number = os.availableParallelism()): void {
  // The pool runs the token endpoint's signatures (node:crypto with a callback: the assertion's verify, the token's
  // sign). One thread fewer than the cores leaves the event loop a core: with more pool threads, each job handed to the
  // pool wakes a thread that can preempt the loop waiting for its result. bench/mint, 128 connections on 2 cores,
  // alternating runs (the command is in docs/benchmarks.md): 4,860–5,420 tokens/s with 1 thread, 3,980–4,630 with 2,
  // 3,890–4,170 with libuv's default of 4. A value the operator set wins.
  env.UV_THREADPOOL_SIZE ??= String(Math.max(1, cores - 1))
}

export = applyProcessDefaults
