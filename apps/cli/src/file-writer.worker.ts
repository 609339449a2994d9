// The writer thread's module (HashingFileWriter starts one per file). It owns the file: it opens
// it, hashes each slot, writes it at its offset and closes it, so no write can land on a descriptor
// number the main thread has closed and reused. It runs as it is when tests load the sources, with
// Node stripping its types, so it imports only Node's own modules, through require() like the
// compiled build, and declares nothing but types.
import type * as Crypto from 'node:crypto';
import type * as Fs from 'node:fs';
import type * as WorkerThreads from 'node:worker_threads';

/** What the writer thread is given at start. */
export interface FileWriterData {
  path: string;
  memory: SharedArrayBuffer;
  exclusive: boolean;
  sequential: boolean;
  slotBytes: number;
  /** O_DIRECT wants memory, file offsets and lengths in multiples of this. */
  block: number;
}

/** A full slot to write ([slot, length, file position]), or how to end: 'end' (digest) or 'close'. */
export type ToFileWriter = [number, number, number] | 'end' | 'close';

export type FromFileWriter = ['opened'] | ['free', number] | ['error', string] | ['done', string] | ['closed'];

const { parentPort, workerData } = require('node:worker_threads') as typeof WorkerThreads;
const fs = require('node:fs') as typeof Fs;
const { createHash } = require('node:crypto') as typeof Crypto;
const { path, memory, exclusive, sequential, slotBytes, block } = workerData as FileWriterData;
const { O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_DIRECT } = fs.constants;
const slots = new Uint8Array(memory);
const hash = createHash('sha256');
const post = (message: FromFileWriter) => parentPort!.postMessage(message);
let fd: number | undefined;
let directFd: number | undefined;
let writing = 0;
// Sequential mode: slots waiting for the write in flight, in order.
const queued: Array<[number, number, number, number | null]> = [];
let truncateTo = -1;
let failed = false;
let finishing: 'end' | 'close' | undefined;

try {
  if (sequential) {
    // A device or a pipe: opened as it is, written in order. A pipe's open waits for its reader.
    fd = fs.openSync(path, O_WRONLY);
  } else {
    fd = fs.openSync(path, O_WRONLY | O_CREAT | (exclusive ? O_EXCL : O_TRUNC), 0o644);
    try {
      // Written data bypasses the page cache: no kernel copy of every byte, and the fsync before
      // the rename has almost nothing left to flush. File systems that refuse it keep fd as is.
      directFd = fs.openSync(path, O_WRONLY | O_DIRECT);
      fs.closeSync(fd);
      fd = directFd;
    } catch {}
  }
  post(['opened']);
} catch (err) {
  failed = true;
  post(['error', `cannot ${sequential ? 'open' : 'create'} ${path}: ${(err as Error).message}`]);
}

function fail(err: Error): void {
  if (failed) return;
  failed = true;
  post(['error', `cannot write ${path}: ${err.message}`]);
}

function write(start: number, length: number, position: number | null, done: (err?: Error) => void): void {
  const used = fd!;
  fs.write(used, slots, start, length, position, (err, written) => {
    if (err && err.code === 'EINVAL' && used === directFd) {
      // A file system that takes O_DIRECT but not these writes gets the rest through the page
      // cache. The direct descriptor stays open until the end: other writes may be using it.
      if (fd === directFd) {
        try {
          fd = fs.openSync(path, O_WRONLY);
        } catch (reopenErr) {
          return done(reopenErr as Error);
        }
      }
      return write(start, length, position, done);
    }
    if (err) return done(err);
    if (written < length) return write(start + written, length - written, position === null ? null : position + written, done);
    done();
  });
}

function startWrite(slot: number, start: number, size: number, position: number | null): void {
  writing++;
  write(start, size, position, (err) => {
    writing--;
    if (err) fail(err);
    else post(['free', slot]);
    if (queued.length > 0 && !failed) startWrite(...queued.shift()!);
    settle();
  });
}

function settle(): void {
  if (writing > 0 || (queued.length > 0 && !failed) || !finishing) return;
  if (!failed && finishing === 'end' && truncateTo >= 0) {
    try {
      fs.ftruncateSync(fd!, truncateTo);
    } catch (err) {
      fail(err as Error);
    }
  }
  for (const open of new Set([fd, directFd])) if (open !== undefined) fs.closeSync(open);
  fd = directFd = undefined;
  post(failed || finishing !== 'end' ? ['closed'] : ['done', hash.digest('hex')]);
}

parentPort!.on('message', (message: ToFileWriter) => {
  if (typeof message === 'string') {
    finishing = message;
    return settle();
  }
  const [slot, length, position] = message;
  if (failed) return;
  const start = slot * slotBytes;
  let size = length;
  if (fd === directFd && length % block !== 0) {
    // Only the last slot can be partial: it is written up to a whole block and the file cut back.
    size = Math.ceil(length / block) * block;
    truncateTo = position + length;
  }
  // The write goes to the thread pool first, so the disk works while this thread hashes.
  // Positioned writes may overlap; a device or pipe takes one write at a time, in order.
  if (!sequential) startWrite(slot, start, size, position);
  else if (writing === 0) startWrite(slot, start, size, null);
  else queued.push([slot, start, size, null]);
  hash.update(slots.subarray(start, start + length));
});
