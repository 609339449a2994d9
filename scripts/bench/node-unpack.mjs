#!/usr/bin/env node
// Context row for restore, "Node in process": the least a Node restore does. The archive is
// read, decompressed with Node's zstd and unpacked by tar-stream into files (the libraries the
// CLI uses), with no checks, no SHA-256 and no sync. Prints its own seconds on stdout as JSON.
//   node scripts/bench/node-unpack.mjs FILE.tar.zst DIR

import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { extract } from 'tar-stream';

const [file, dir] = process.argv.slice(2);
if (!file || !dir) {
  console.error('usage: node-unpack.mjs FILE.tar.zst DIR');
  process.exit(2);
}
const started = process.hrtime.bigint();
const unpack = extract();
unpack.on('entry', (header, body, next) => {
  const target = path.join(dir, header.name);
  if (header.type === 'directory') {
    mkdirSync(target, { recursive: true });
    body.resume();
    return next();
  }
  mkdirSync(path.dirname(target), { recursive: true });
  pipeline(body, createWriteStream(target, { highWaterMark: 4 * 1024 * 1024 })).then(() => next(), next);
});
await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), zlib.createZstdDecompress({ chunkSize: 1024 * 1024 }), unpack);
console.log(JSON.stringify({ seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
