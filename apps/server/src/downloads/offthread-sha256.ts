import { Worker } from 'node:worker_threads';

const SLOT_BYTES = 1024 * 1024;
const SLOTS = 4;

// One worker hashes for every download: a thread per download would cost an isolate each.
// Kept as source text so the same code runs from the compiled server and from TypeScript tests.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const streams = new Map();
parentPort.on('message', ([op, id, a, b]) => {
  if (op === 'open') streams.set(id, { hash: createHash('sha256'), slots: new Uint8Array(a) });
  else if (op === 'update') {
    const s = streams.get(id);
    if (s) s.hash.update(s.slots.subarray(a * ${SLOT_BYTES}, a * ${SLOT_BYTES} + b));
    parentPort.postMessage(['free', id, a]);
  } else if (op === 'digest') {
    parentPort.postMessage(['digest', id, streams.get(id).hash.digest('hex')]);
    streams.delete(id);
  }
});
`;

type Listener = (message: ['free', number, number] | ['digest', number, string]) => void;

// Rings are reused: shared memory is only returned once both threads have collected their
// garbage, which an idle worker rarely does.
const idleRings: SharedArrayBuffer[] = [];

let shared: { worker: Worker; listeners: Map<number, Listener>; failure?: Error } | undefined;
let nextId = 0;

function hashingWorker() {
  if (shared && !shared.failure) return shared;
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  worker.unref();
  const state: NonNullable<typeof shared> = { worker, listeners: new Map() };
  worker.on('message', (message: Parameters<Listener>[0]) => state.listeners.get(message[1])?.(message));
  worker.on('error', (err) => {
    state.failure = err;
    for (const listener of state.listeners.values()) listener(['free', -1, -1]);
  });
  shared = state;
  return state;
}

/**
 * SHA-256 of one stream, computed on the hashing worker thread. Hashing a stream is bound to
 * one core; doing it beside the thread that reads, archives and sends lets both run at full
 * speed. Bytes travel through a small ring of shared slots, so hashing allocates nothing per
 * chunk and holds 4 MiB per running download whatever its size; a full ring makes update() wait.
 */
export class OffThreadSha256 {
  private readonly id = nextId++;
  private readonly worker = hashingWorker();
  private readonly memory = idleRings.pop() ?? new SharedArrayBuffer(SLOT_BYTES * SLOTS);
  private readonly slots = new Uint8Array(this.memory);
  private readonly free: number[] = Array.from({ length: SLOTS }, (_, i) => i);
  private wakeUp?: () => void;
  private digestResolve?: (hex: string) => void;
  private closed = false;

  constructor() {
    this.worker.listeners.set(this.id, (message) => {
      if (message[0] === 'free') {
        if (message[2] >= 0) this.free.push(message[2]);
        this.wake();
      } else {
        this.digestResolve?.(message[2]);
      }
    });
    this.worker.worker.postMessage(['open', this.id, this.memory]);
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
      const slot = this.free.shift()!;
      const part = chunk.subarray(offset, offset + SLOT_BYTES);
      this.slots.set(part, slot * SLOT_BYTES);
      this.worker.worker.postMessage(['update', this.id, slot, part.length]);
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
        this.worker.worker.postMessage(['digest', this.id]);
      });
    } finally {
      this.worker.listeners.delete(this.id);
      idleRings.push(this.memory);
    }
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }
}
