#!/usr/bin/env node
'use strict';
const { execute } = require('@oclif/core');
const { normalizeArgv } = require('../dist/argv');

// Go-style spellings ("-server URL create", "-keep_within 12h") are rewritten to oclif's first.
execute({ dir: __dirname, args: normalizeArgv(process.argv.slice(2)) });
