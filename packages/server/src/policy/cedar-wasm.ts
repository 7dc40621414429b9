/** The one runtime import of cedar-wasm, with the V8 setting it needs to run safely on Node 20 and 22. */
import './wasm-flags.js'
import { setFlagsFromString } from 'node:v8'

// V8 11.x (Node 20) aborts the whole process ("Fatal error ... unreachable code" in
// Deoptimizer::DoComputeBuiltinContinuation) when optimized code that inlined a JS→Wasm call is lazily deoptimized
// during that call, which cedar-wasm's calls back into JS can trigger. Seen here in about one run in four of the
// narrowing property test; never with inlining off. Without inlining each call goes through V8's generic JS→Wasm
// wrapper, which costs well under a microsecond next to a Cedar evaluation. Set before any policy code is hot.
if (Number(process.versions.v8.split('.')[0]) <= 12) setFlagsFromString('--no-turbo-inline-js-wasm-calls')

export {
  checkParsePolicySet, policySetTextToParts, policyToJson, preparsePolicySet, statefulIsAuthorized, validate,
} from '@cedar-policy/cedar-wasm/nodejs'
