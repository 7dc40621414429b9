/**
 * Node flags the server runs with. V8 reads heap sizes only at start, so they are on the command line: in the
 * shebangs of the two executables (packages/cli/src/writ.cts, launch.cts), `npm start`, and bench/mint
 * (test/node-flags.test.ts keeps them equal). What can be set from inside the process before it is read (the thread
 * pool size) is in process-defaults.cts.
 *
 * `--max-semi-space-size=8`: V8 otherwise grows the young generation to 3 × 16 MB under the token endpoint's
 * allocation rate (requests stay alive across their commit wait, so survival is high). 8 MB keeps the resident set
 * ~30 MB smaller at the same throughput (measured with bench/mint: peak 216 MB against 246–289 MB).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8']
