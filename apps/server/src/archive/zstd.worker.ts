// The thread of one OffThreadZstd: a zstd compression context, driven one call at a time.
// It runs as it is when tests load the sources, with Node stripping its types, so it loads only
// Node's own modules and zstd-napi, through require() like the compiled build, and declares
// nothing but types.
import type * as Fs from 'node:fs';
import type * as Os from 'node:os';
import type * as WorkerThreads from 'node:worker_threads';
import type * as Binding from 'zstd-napi/binding';
import type { ZstdParameters } from './zstd-settings';

/** What the thread is given at start: zstd's parameters, and its nice value. */
export interface ZstdWorkerData {
  parameters: ZstdParameters;
  nice: number;
}

/** One ZSTD_compressStream2 call ([out, input, end]), or 'close' to leave between calls. */
export type ToZstdWorker = [Uint8Array, Uint8Array, boolean] | 'close';

/** A call's result; `bytes` carries the output back when `out` was not in shared memory. */
export interface ZstdCallResult {
  left: number;
  produced: number;
  consumed: number;
  bytes?: Uint8Array;
}

/** What the thread answers each call: its result, or zstd's message when it failed. */
export type FromZstdWorker = ZstdCallResult | { error: string };

const { parentPort, workerData } = require('node:worker_threads') as typeof WorkerThreads;
// Loaded here, in the thread: the main thread never loads zstd-napi for this.
const binding = require('zstd-napi/binding') as typeof Binding;
const { parameters, nice } = workerData as ZstdWorkerData;
const post = (message: FromZstdWorker) => parentPort!.postMessage(message);

// Compression yields the CPU to the threads that answer requests: this thread takes a lower
// priority (nice), and zstd's threads, started from it, inherit it. Linux only; elsewhere a no-op.
try {
  const thread = Number((require('node:fs') as typeof Fs).readlinkSync('/proc/thread-self').split('/').pop());
  (require('node:os') as typeof Os).setPriority(thread, nice);
} catch {}

/** zstd parameters zstd-napi does not name, by their number in zstd.h (ZSTD_c_experimentalParam20). */
const EXPERIMENTAL: Record<string, number> = { blockSplitterLevel: 1017 };

const cctx = new binding.CCtx();
let failure: unknown;
for (const [name, value] of Object.entries(parameters)) {
  try {
    cctx.setParameter(binding.CParameter[name as keyof typeof Binding.CParameter] ?? EXPERIMENTAL[name], Number(value));
  } catch (err) {
    // An experimental parameter is only tuning: a zstd without it compresses as before.
    if (!(name in EXPERIMENTAL)) failure ??= err;
  }
}

parentPort!.on('message', (message: ToZstdWorker) => {
  // Leaving by itself, between calls: a thread terminated from outside while zstd runs would
  // abort the whole process (the binding's C++ exception finds no JavaScript to throw into).
  if (message === 'close') process.exit(0);
  const [out, input, end] = message;
  try {
    if (failure) throw failure;
    const [left, produced, consumed] = cctx.compressStream2(out, input, end ? binding.EndDirective.end : binding.EndDirective.continue);
    // Output memory that is not shared came here as a copy: its bytes go back.
    const bytes = out.buffer instanceof SharedArrayBuffer ? undefined : out.subarray(0, produced);
    post({ left, produced, consumed, bytes });
  } catch (err) {
    post({ error: String((err && (err as Error).message) || err) });
  }
});
