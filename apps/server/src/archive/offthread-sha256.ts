import os from 'node:os';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import { workerModule } from '@prombackup/contract';
import { SLOT_BYTES } from './read-slots';
import type { FromSha256Worker, Sha256WorkerData, ToSha256Worker } from './sha256.worker';

const SLOTS = 4;

// A worker hashes for many downloads: a thread per download would cost an isolate each.
type Message = FromSha256Worker;
type Listener = (message: Message) => void;
type HashingWorker = { worker: Worker; listeners: Map<number, Listener>; failure?: Error };

/**
 * At most one hashing thread per core, and two at most. The second starts only when downloads
 * overlap, when one worker alone would hold them back (docs/performance.md, "How the data flows").
 */
export const MAX_HASHING_WORKERS = Math.min(2, os.availableParallelism());

/**
 * The hashing threads every download shares, and the rings of finished downloads (shared memory
 * is returned only once both threads have collected their garbage, which an idle worker rarely
 * does). A Nest provider: Nest ends the threads when the application closes.
 */
@Injectable()
export class HashingPool implements OnModuleDestroy {
  private readonly workers: HashingWorker[] = [];
  private readonly idleRings: SharedArrayBuffer[] = [];
  private nextId = 0;

  /** A SHA-256 for a new stream; `shared` is memory its chunks may lie in (see updateShared). */
  hash(shared?: SharedArrayBuffer): OffThreadSha256 {
    return new OffThreadSha256(this.nextId++, this.pick(), this.idleRings.pop() ?? new SharedArrayBuffer(SLOT_BYTES * SLOTS), this.idleRings, shared);
  }

  /** Hashing threads running now. */
  get workerCount(): number {
    return this.workers.length;
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }

  /** An idle worker, else a new one while there is room, else the least busy. */
  private pick(): HashingWorker {
    const idle = this.workers.find((w) => w.listeners.size === 0);
    if (idle) return idle;
    if (this.workers.length < MAX_HASHING_WORKERS) return this.start();
    return this.workers.reduce((a, b) => (b.listeners.size < a.listeners.size ? b : a));
  }

  private start(): HashingWorker {
    // Hashing allocates little and steadily: a tight heap keeps the worker's share of memory small.
    const { filename, execArgv } = workerModule(__filename, 'sha256.worker');
    const workerData: Sha256WorkerData = { slotBytes: SLOT_BYTES };
    const worker = new Worker(filename, {
      execArgv,
      workerData,
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 },
    });
    worker.unref();
    const state: HashingWorker = { worker, listeners: new Map() };
    worker.on('message', (message: Message) => state.listeners.get(message[1])?.(message));
    const lost = (err: Error) => {
      state.failure ??= err;
      // New streams go to the others, or to a new worker.
      const at = this.workers.indexOf(state);
      if (at >= 0) this.workers.splice(at, 1);
      for (const listener of state.listeners.values()) listener(['free', -1, -1]);
    };
    worker.on('error', lost);
    worker.on('exit', () => lost(new Error('the hashing thread stopped')));
    this.workers.push(state);
    return state;
  }
}

/**
 * SHA-256 of one stream, computed on a hashing worker thread. Hashing a stream is bound to
 * one core; doing it beside the thread that reads, archives and sends lets both run at full
 * speed. Bytes travel through a small ring of shared slots, so hashing allocates nothing per
 * chunk and holds 4 MiB per running download whatever its size; a full ring makes update() wait.
 * Bytes that already lie in shared memory (the download's read slots) are hashed where they lie.
 */
export class OffThreadSha256 {
  private readonly slots: Uint8Array;
  private readonly free: number[] = Array.from({ length: SLOTS }, (_, i) => i);
  private wakeUp?: () => void;
  private digestResolve?: (hex: string) => void;
  // The worker answers in order, so the oldest waiting shared update is the one answered.
  private readonly sharedWaiting: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private closed = false;

  /** Made by HashingPool.hash(). */
  constructor(
    private readonly id: number,
    private readonly worker: HashingWorker,
    private readonly memory: SharedArrayBuffer,
    private readonly idleRings: SharedArrayBuffer[],
    private readonly shared?: SharedArrayBuffer,
  ) {
    this.slots = new Uint8Array(memory);
    this.worker.listeners.set(this.id, (message) => {
      if (message[0] === 'free') {
        if (message[2] >= 0) this.free.push(message[2]);
        else this.failShared(this.worker.failure!);
        this.wake();
      } else if (message[0] === 'hashed') {
        this.sharedWaiting.shift()?.resolve();
      } else {
        this.digestResolve?.(message[2]);
      }
    });
    this.post(['open', this.id, this.memory]);
  }

  /**
   * Hashes a chunk that lies in the shared memory given to the constructor, without copying it.
   * Resolves once the worker is done with those bytes; until then they must not change.
   */
  updateShared(chunk: Buffer): Promise<void> {
    const shared = this.shared;
    if (!shared || chunk.buffer !== shared) return Promise.reject(new Error('updateShared() needs a chunk in the shared memory'));
    if (this.worker.failure) return Promise.reject(this.worker.failure);
    if (this.closed) return Promise.reject(new Error('the download ended before these bytes were hashed'));
    return new Promise<void>((resolve, reject) => {
      this.sharedWaiting.push({ resolve, reject });
      this.post(['shared', this.id, shared, chunk.byteOffset, chunk.length]);
    });
  }

  /** Queues bytes for hashing; waits only while every slot is in use. */
  async update(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; offset += SLOT_BYTES) {
      while (this.free.length === 0 && !this.worker.failure && !this.closed) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
      }
      if (this.worker.failure) throw this.worker.failure;
      // A stream cut off while this chunk waited for a slot has been digested already.
      if (this.closed) throw new Error('the download ended before these bytes were hashed');
      // The most recently freed slot: a download that needs few of them touches (and keeps resident) few.
      const slot = this.free.pop()!;
      const part = chunk.subarray(offset, offset + SLOT_BYTES);
      this.slots.set(part, slot * SLOT_BYTES);
      this.post(['update', this.id, slot, part.length]);
    }
  }

  /** Hex digest of everything queued so far; the stream's state on the worker ends with it. */
  async digest(): Promise<string> {
    this.closed = true;
    this.wake();
    if (this.worker.failure) throw this.worker.failure;
    try {
      return await new Promise<string>((resolve) => {
        this.digestResolve = resolve;
        this.post(['digest', this.id]);
      });
    } finally {
      this.worker.listeners.delete(this.id);
      this.idleRings.push(this.memory);
    }
  }

  private post(message: ToSha256Worker): void {
    this.worker.worker.postMessage(message);
  }

  private failShared(err: Error): void {
    for (const waiting of this.sharedWaiting.splice(0)) waiting.reject(err);
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }
}
