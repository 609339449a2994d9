import fs from 'node:fs';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { formatDuration, workerModule } from '@prombackup/contract';
import type { FileWriterData, FromFileWriter, ToFileWriter } from './file-writer.worker';

const SLOT_BYTES = 1024 * 1024;
const SLOTS = 8;
/** O_DIRECT wants memory, file offsets and lengths in multiples of the device block; 4 KiB covers them all. */
const BLOCK = 4096;


/** How long a named pipe may go without a reader before writing into it fails. */
export const PIPE_READER_WAIT_MS = 10_000;

// Node gives out page-aligned shared memory only as WebAssembly memory; Buffers and plain
// SharedArrayBuffers sit 16 bytes past a page boundary, which O_DIRECT refuses.
const { Memory } = (
  globalThis as unknown as { WebAssembly: { Memory: new (pages: { initial: number; maximum: number; shared: true }) => { buffer: SharedArrayBuffer } } }
).WebAssembly;

export interface HashingFileWriterOptions {
  /** Fail if the file exists (the default), rather than truncating it. */
  exclusive?: boolean;
  /**
   * Write into an existing character device or pipe (/dev/null, a tape, a named pipe): opened
   * as it is, never created or truncated, and written in order without O_DIRECT.
   */
  sequential?: boolean;
  slotBytes?: number;
  slots?: number;
  /** Sequential only: how long to wait for a named pipe's reader (default PIPE_READER_WAIT_MS). */
  readerWaitMs?: number;
}

/**
 * Writes a stream to a file and computes its SHA-256 on one worker thread, so the thread that
 * receives the bytes spends nothing on hashing or on the disk. Bytes go into a small ring of
 * shared slots; a full slot goes to the worker, which hashes it, writes it at its offset and hands
 * it back. When every slot is out, writes wait. The worker thread lives until the stream
 * finishes or is destroyed.
 */
export class HashingFileWriter extends Writable {
  /** Bytes accepted so far. */
  bytes = 0;
  /** Hex SHA-256 of every byte, once the stream has finished. */
  sha256?: string;
  /** Why the file could not be written, if it could not. */
  failure?: Error;

  private readonly slotBytes: number;
  private readonly memory: Buffer;
  private readonly busy: boolean[];
  private readonly worker: Worker;
  private slot = 0;
  private fill = 0;
  private position = 0;
  /** The write waiting for a slot to come back, if one is. */
  private waiting?: () => void;
  private finishing?: Promise<void>;
  private finished?: () => void;
  private exited = false;
  private opened = false;
  private readerTimer?: NodeJS.Timeout;
  /** A read end this side holds open to release the worker's open of a pipe nobody reads. */
  private releaseFd?: number;

  constructor(
    readonly path: string,
    options: HashingFileWriterOptions = {},
  ) {
    const slotBytes = options.slotBytes ?? SLOT_BYTES;
    const slots = options.slots ?? SLOTS;
    if (slotBytes % 65536 !== 0) throw new Error('slotBytes must be a multiple of 64 KiB');
    // Chunks up to a slot are taken whole without the stream buffering them or waiting for 'drain'.
    super({ highWaterMark: slotBytes });
    this.slotBytes = slotBytes;
    const pages = (slotBytes * slots) / 65536;
    const shared = new Memory({ initial: pages, maximum: pages, shared: true }).buffer;
    this.memory = Buffer.from(shared);
    this.busy = new Array<boolean>(slots).fill(false);
    const workerData: FileWriterData = { path, memory: shared, exclusive: options.exclusive ?? true, sequential: options.sequential ?? false, slotBytes, block: BLOCK };
    const { filename, execArgv } = workerModule(__filename, 'file-writer.worker');
    this.worker = new Worker(filename, { execArgv, workerData });
    this.worker.on('message', (message: FromFileWriter) => this.onMessage(message));
    this.worker.on('error', (err) => this.fail(new Error(`the file writer thread failed: ${err.message}`)));
    this.worker.on('exit', () => this.onExit());
    if (options.sequential) {
      const waitMs = options.readerWaitMs ?? PIPE_READER_WAIT_MS;
      this.readerTimer = setTimeout(() => {
        this.fail(new Error(`cannot write ${path}: no program opened it for reading within ${formatDuration(waitMs)}`));
        this.releaseOpen();
      }, waitMs);
    }
  }

  /** Gives up; resolves once the worker has closed the file, so that removing the file is final. */
  async abort(): Promise<void> {
    this.destroy();
    await this.finish('close');
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    let at = 0;
    const take = () => {
      if (this.failure) return callback(this.failure);
      while (at < chunk.length && !this.busy[this.slot]) {
        const n = chunk.copy(this.memory, this.slot * this.slotBytes + this.fill, at, Math.min(chunk.length, at + this.slotBytes - this.fill));
        at += n;
        this.fill += n;
        this.bytes += n;
        if (this.fill === this.slotBytes) this.send();
      }
      // Every slot is with the worker: go on once one comes back.
      if (at < chunk.length) this.waiting = take;
      else callback();
    };
    take();
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.fill > 0) this.send();
    this.finish('end').then(() => callback(this.failure), callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // Lets writes still under way end before the worker closes the file.
    this.finish('close').then(() => callback(err), () => callback(err));
  }

  private send(): void {
    this.busy[this.slot] = true;
    this.post([this.slot, this.fill, this.position]);
    this.position += this.fill;
    this.slot = (this.slot + 1) % this.busy.length;
    this.fill = 0;
  }

  /**
   * The worker's open of a named pipe waits for a reader and cannot be interrupted; opening the
   * read end here lets it return. This side closes that end once the worker has opened the pipe,
   * so the worker's writes then fail with EPIPE instead of waiting.
   */
  private releaseOpen(): void {
    if (this.opened || this.exited || this.releaseFd !== undefined) return;
    try {
      if (fs.statSync(this.path).isFIFO()) this.releaseFd = fs.openSync(this.path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch {
      // Gone or not a pipe: the worker's open does not wait for it.
    }
  }

  private opening(done: boolean): void {
    this.opened = done;
    clearTimeout(this.readerTimer);
    if (this.releaseFd !== undefined) fs.closeSync(this.releaseFd);
    this.releaseFd = undefined;
  }

  private post(message: ToFileWriter): void {
    this.worker.postMessage(message);
  }

  private onMessage(message: FromFileWriter): void {
    if (message[0] === 'opened') {
      this.opening(true);
    } else if (message[0] === 'free') {
      this.busy[message[1]] = false;
      this.wake();
    } else if (message[0] === 'error') {
      if (!this.opened) this.opening(false);
      this.fail(new Error(message[1]));
    } else if (message[0] === 'done' || message[0] === 'closed') {
      if (message[0] === 'done') this.sha256 = message[1];
      this.finished?.();
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  /** Ends the worker's work ('end': digest; 'close': give up), then the worker; once only. */
  private finish(command: 'end' | 'close'): Promise<void> {
    this.finishing ??= new Promise<void>((resolve) => {
      this.finished = resolve;
      if (this.exited) resolve();
      else this.post(command);
      // A worker still waiting for a pipe's reader could not hear that it is to give up.
      if (command === 'close') this.releaseOpen();
    }).then(async () => {
      this.opening(this.opened);
      this.worker.removeAllListeners('exit');
      await this.worker.terminate();
    });
    return this.finishing;
  }

  private onExit(): void {
    // A thread that died cannot answer: nothing is written any more, so waiting ends here.
    this.exited = true;
    this.opening(false);
    this.fail(new Error('the file writer thread stopped unexpectedly'));
    this.finished?.();
  }
}
