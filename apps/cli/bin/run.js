#!/usr/bin/env -S node --max-semi-space-size=2 --initial-old-space-size=128
'use strict';
// The #! flags: a small young generation bounds an S3 upload's memory; a first full collection
// only past 128 MB keeps restore from collecting every few chunks (docs/performance.md).
const { execute, settings } = require('@oclif/core');
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
// Always the compiled commands: with NODE_ENV=development or test oclif would look for
// TypeScript sources and warn to every user who has that set that it found none.
settings.enableAutoTranspile = false;
execute({ dir: __dirname, args });
