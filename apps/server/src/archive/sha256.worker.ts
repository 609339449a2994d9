// The hashing thread's module (HashingPool starts it): one SHA-256 per stream it is told to open.
// It runs as it is when tests load the sources, with Node stripping its types, so it imports only
// Node's own modules, through require() like the compiled build, and declares nothing but types.
import type * as Crypto from 'node:crypto';
import type * as WorkerThreads from 'node:worker_threads';

/** What the hashing thread is told, as [op, stream id, ...arguments]. */
export type ToSha256Worker =
  | ['open', number, SharedArrayBuffer]
  | ['update', number, number, number]
  | ['shared', number, SharedArrayBuffer, number, number]
  | ['digest', number];

/** What it answers: a ring slot free again, shared bytes hashed, or a stream's digest. */
export type FromSha256Worker = ['free', number, number] | ['hashed', number, number] | ['digest', number, string];

/** What the thread is given at start. */
export interface Sha256WorkerData {
  slotBytes: number;
}

const { parentPort, workerData } = require('node:worker_threads') as typeof WorkerThreads;
const { createHash } = require('node:crypto') as typeof Crypto;
const slotBytes = (workerData as Sha256WorkerData).slotBytes;
const streams = new Map<number, { hash: Crypto.Hash; ring: Uint8Array }>();
const answer = (message: FromSha256Worker) => parentPort!.postMessage(message);

parentPort!.on('message', (message: ToSha256Worker) => {
  const s = streams.get(message[1]);
  if (message[0] === 'open') {
    streams.set(message[1], { hash: createHash('sha256'), ring: new Uint8Array(message[2]) });
  } else if (message[0] === 'update') {
    const [, id, slot, length] = message;
    s?.hash.update(s.ring.subarray(slot * slotBytes, slot * slotBytes + length));
    answer(['free', id, slot]);
  } else if (message[0] === 'shared') {
    // The memory comes with every message rather than being kept: a download's read slots are
    // freed only once no thread holds them, and this thread seldom collects its garbage.
    const [, id, memory, offset, length] = message;
    s?.hash.update(new Uint8Array(memory, offset, length));
    answer(['hashed', id, offset]);
  } else {
    answer(['digest', message[1], s!.hash.digest('hex')]);
    streams.delete(message[1]);
  }
});
