import { Worker } from 'node:worker_threads';
import { workerModule } from '@prombackup/contract';
import { COMPRESSION_NICE } from '../common/thread-priority';
import type { ZstdParameters } from './zstd-settings';
import type { FromZstdWorker, ToZstdWorker, ZstdCallResult, ZstdWorkerData } from './zstd.worker';

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
  private waiting?: { resolve: (reply: ZstdCallResult) => void; reject: (err: Error) => void };
  private failure?: Error;
  private exited = false;

  constructor(parameters: ZstdParameters) {
    // The thread only steers zstd; a small heap keeps the isolate's memory small.
    const { filename, execArgv } = workerModule(__filename, 'zstd.worker');
    const workerData: ZstdWorkerData = { parameters, nice: COMPRESSION_NICE };
    this.worker = new Worker(filename, {
      execArgv,
      workerData,
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    this.worker.unref();
    this.worker.on('message', (reply: FromZstdWorker) => ('error' in reply ? this.settle(new Error(reply.error)) : this.settle(undefined, reply)));
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
    const reply = await new Promise<ZstdCallResult>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.post([outArg, inArg, end]);
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
    this.post('close');
    await exited;
  }

  private post(message: ToZstdWorker): void {
    this.worker.postMessage(message);
  }

  private settle(err: Error | undefined, reply?: ZstdCallResult): void {
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
