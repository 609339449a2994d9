#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --lite-mode
'use strict';
// How the server is meant to run: npm's bin link, the container image and the tests all start
// it through the line above. The server's JavaScript only steers: native code (the kernel,
// OpenSSL, zlib, zstd) moves and hashes the bytes. So V8's lite mode (no JIT compilers, a 1 MB
// young generation, leaner heap layouts) costs no measurable speed and saves ~22 MB of memory,
// and two malloc arenas (not one per thread of the compression pool) keep native memory compact.
// See docs/performance.md. `node prombackup-server.js` also works, without them. Lite mode turns
// WebAssembly off; nothing in the server uses it.

// gzip members compress on libuv's thread pool, up to 8 at a time; leave file reads room beside
// them. Must be set before the pool starts, so here rather than in the application.
process.env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE || '10';
require('../dist/main.js');
