#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --optimize-for-size
'use strict';
// How the server is meant to run: npm's bin link, the container image and the tests all start
// it through the line above. The server's JavaScript only steers while native code moves and
// hashes the bytes, so a small young generation, leaner heap layouts and two malloc arenas save
// memory at no measurable cost in speed (docs/performance.md). `node prombackup-server.js` also
// works, without them.

// gzip members compress on libuv's thread pool, up to 8 at a time; leave file reads room beside
// them. Must be set before the pool starts, so here rather than in the application.
process.env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE || '10';
// The pool's threads compress at a lower priority than the event loop, which answers probes.
require('../dist/common/thread-priority.js').lowerThreadPoolPriority();
require('../dist/main.js');
