#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=4
'use strict';
// How the server is meant to run: npm's bin link, the container image and the tests all start
// it through the line above. A young generation of 4 MB (Node's default is 16) and two malloc
// arenas (not one per thread of the compression pool) keep peak memory 15-30 MB lower at the
// same speed; see docs/performance.md. `node prombackup-server.js` also works, without them.

// gzip members compress on libuv's thread pool, up to 8 at a time; leave file reads room beside
// them. Must be set before the pool starts, so here rather than in the application.
process.env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE || '10';
require('../dist/main.js');
