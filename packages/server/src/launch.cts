#!/usr/bin/env -S node --max-semi-space-size=8
/** The server executable: the process defaults first (process-defaults.cts), then the ES module entry, main.js. */
import applyProcessDefaults = require('./process-defaults.cjs')

applyProcessDefaults()
void import('./main.js')
