#!/usr/bin/env node
// Reference row "Node, in process": archiver's tar of a folder, optionally through Node's zlib
// gzip or zstd-napi (one thread), hashed with SHA-256 and counted, nothing written anywhere.
// Uses only packages the server already depends on. Prints the SHA-256 on stderr and the
// output size in bytes on stdout, like `tee >(openssl dgst -sha256 >&2) | wc -c`.
//   node scripts/bench/node-pipeline.mjs <dir> tar|tgz|tzst [level]

import { createHash } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

const [dir, format = 'tar', levelArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node-pipeline.mjs <dir> tar|tgz|tzst [level]');
  process.exit(2);
}
const { TarArchive } = await import('archiver');
const archive = new TarArchive();
archive.directory(dir, path.basename(dir));
archive.finalize();

const stages = [archive];
if (format === 'tgz') stages.push(zlib.createGzip({ level: Number(levelArg ?? 1) }));
if (format === 'tzst') {
  const { CompressStream } = await import('zstd-napi');
  stages.push(new CompressStream({ compressionLevel: Number(levelArg ?? 3) }));
}
const hash = createHash('sha256');
let bytes = 0;
stages.push(
  new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb();
    },
  }),
);
await pipeline(stages);
process.stderr.write(`SHA2-256(stdin)= ${hash.digest('hex')}\n`);
process.stdout.write(`${bytes}\n`);
