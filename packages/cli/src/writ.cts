#!/usr/bin/env -S node --max-semi-space-size=8
/** The `writ` executable: the server's process defaults first (`writ serve` runs it here), then the CLI, main.js. */
import applyProcessDefaults = require('@writ/server/process-defaults')

applyProcessDefaults()
void import('./main.js')
