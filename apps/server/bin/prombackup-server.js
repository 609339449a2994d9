#!/usr/bin/env node
'use strict';
// gzip members compress on libuv's thread pool, 8 at a time; leave file reads room beside them. Must be set
// before the pool starts, so here rather than in the application.
process.env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE || '10';
require('../dist/main.js');
