/** V8 settings for cedar-wasm that must be in force before its module is compiled (imported first by cedar-wasm.ts). */
import { setFlagsFromString } from 'node:v8'

// Compile each wasm function when first called rather than all ~7,000 of cedar-wasm's at start: decisions run in
// JavaScript (compile-policy.ts), so only validation and fallbacks call into wasm. Saves ~15 MB of resident code.
setFlagsFromString('--wasm-lazy-compilation')
