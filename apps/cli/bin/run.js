#!/usr/bin/env -S node --max-semi-space-size=2
'use strict';
const { execute } = require('@oclif/core');
const { ArgvError, normalizeArgv } = require('../dist/argv');

// Go-style spellings ("-server URL create", "-keep_within 12h") are rewritten to oclif's first.
let args;
try {
  args = normalizeArgv(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof ArgvError)) throw err;
  process.stderr.write(`prombackup: ${err.message}\n`);
  process.exit(2);
}
execute({ dir: __dirname, args });
