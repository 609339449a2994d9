import { Worker } from 'node:worker_threads';
import { COMPRESSION_NICE } from '../common/thread-priority';
import type { ZstdParameters } from './zstd-settings';


// Kept as source text so the same code runs from the compiled server and from TypeScript tests.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const binding = require(workerData.bindingPath);
// Compression yields the CPU to the threads that answer requests: this thread takes a lower
// priority (nice), and zstd's threads, started from it, inherit it. Linux only; elsewhere a no-op.
try {
  const thread = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  require('node:os').setPriority(thread, workerData.nice);
} catch {}
const cctx = new binding.CCtx();
let failure;
try {
  for (const [name, value] of Object.entries(workerData.parameters)) cctx.setParameter(binding.CParameter[name], Number(value));
} catch (err) {
  failure = err;
}
parentPort.on('message', (message) => {
  // Leaving by itself, between calls: a thread terminated from outside while zstd runs would
  // abort the whole process (the binding's C++ exception finds no JavaScript to throw into).
  if (message === 'close') process.exit(0);
  const [out, input, end] = message;
  try {
    if (failure) throw failure;
    const [left, produced, consumed] = cctx.compressStream2(out, input, end ? binding.EndDirective.end : binding.EndDirective.continue);
    // Output memory that is not shared came here as a copy: its bytes go back.
    const bytes = out.buffer instanceof SharedArrayBuffer ? undefined : out.subarray(0, produced);
    parentPort.postMessage({ left, produced, consumed, bytes });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
});
`;

interface Reply {
  left: number;
  produced: number;
  consumed: number;
  bytes?: Uint8Array;
  error?: string;
}

/** What one call did: bytes zstd still has to flush, bytes written to `out`, bytes taken from `input`. */
export type StreamResult = [left: number, produced: number, consumed: number];

/**
 * A zstd compression context on a worker thread of its own, driven with the calls of zstd's
 * streaming API. zstd-napi's calls are synchronous, and a call that ends a frame (or finds
 * zstd's job queue full) waits for zstd's threads: at level 19 for seconds. On the main thread
 * that held up every request, health probes included.
 *
 * A thread per download, not a shared pool: one download's long wait never holds up another's,
 * and stopping the thread frees the context's memory at once rather than at some later garbage
 * collection. Buffers in shared memory (the download's slots) are read and written in place.
 */
export class OffThreadZstd {
  private readonly worker: Worker;
  private waiting?: { resolve: (reply: Reply) => void; reject: (err: Error) => void };
  private failure?: Error;
  private exited = false;

  constructor(parameters: ZstdParameters) {
    // The thread only steers zstd; a small heap keeps the isolate's memory small.
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // Resolved here (zstd-napi is optional, so not at load): the worker is evaluated from source
      // text, whose require() would look from the current directory, not the server's node_modules.
      workerData: { bindingPath: require.resolve('zstd-napi/binding'), parameters, nice: COMPRESSION_NICE },
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => this.settle(reply.error === undefined ? undefined : new Error(reply.error), reply));
    this.worker.on('error', (err) => this.settle(err));
    this.worker.on('exit', () => {
      this.exited = true;
      this.settle(new Error('the zstd compression thread stopped'));
    });
  }

  /**
   * ZSTD_compressStream2: compresses from `input` into `out`; with `end`, also ends the frame.
   * Neither buffer may change until the promise settles; one call at a time.
   */
  async compressStream2(out: Buffer, input: Buffer, end: boolean): Promise<StreamResult> {
    if (this.failure) throw this.failure;
    if (this.waiting) throw new Error('compressStream2 called again before the last call finished');
    // Shared memory is posted as a view on the same bytes; other buffers are copied, so only
    // the bytes in question go (a Buffer may be a view into a larger pool).
    const outArg = isShared(out) ? out : new Uint8Array(out.length);
    const inArg = isShared(input) ? input : new Uint8Array(input);
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.worker.postMessage([outArg, inArg, end]);
    });
    if (reply.bytes) out.set(reply.bytes);
    return [reply.left, reply.produced, reply.consumed];
  }

  /**
   * Stops the thread, freeing zstd's memory, once a call still running has returned (its
   * result is dropped). Never terminate(): see the worker's 'close' message.
   */
  async close(): Promise<void> {
    this.failure ??= new Error('the zstd compressor was closed');
    if (this.exited) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage('close');
    await exited;
  }

  private settle(err: Error | undefined, reply?: Reply): void {
    if (err) this.failure ??= err;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (!waiting) return;
    if (err) waiting.reject(err);
    else waiting.resolve(reply!);
  }
}

function isShared(buffer: Buffer): boolean {
  return buffer.buffer instanceof SharedArrayBuffer;
}
