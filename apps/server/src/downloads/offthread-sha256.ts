import { Worker } from 'node:worker_threads';

const SLOT_BYTES = 1024 * 1024;
const SLOTS = 8;

// Kept as source text so the same code runs from the compiled server and from TypeScript tests.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
const slots = new Uint8Array(workerData.buffer);
parentPort.on('message', (message) => {
  if (message === 'digest') return parentPort.postMessage({ digest: hash.digest('hex') });
  const [slot, length] = message;
  hash.update(slots.subarray(slot * ${SLOT_BYTES}, slot * ${SLOT_BYTES} + length));
  parentPort.postMessage({ free: slot });
});
`;

/**
 * SHA-256 computed on a worker thread. Hashing one stream is bound to one core; doing it beside
 * the thread that reads, archives and sends lets both run at full speed. Bytes travel through a
 * fixed ring of shared slots, so hashing allocates nothing per chunk and memory stays at 8 MiB
 * whatever the download's size; a full ring makes update() wait (backpressure).
 */
export class OffThreadSha256 {
  private readonly shared = new SharedArrayBuffer(SLOT_BYTES * SLOTS);
  private readonly slots = new Uint8Array(this.shared);
  private readonly free: number[] = Array.from({ length: SLOTS }, (_, i) => i);
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { buffer: this.shared } });
  private failure?: Error;
  private wakeUp?: () => void;
  private digestResolve?: (hex: string) => void;

  constructor() {
    this.worker.unref();
    this.worker.on('message', (message: { free?: number; digest?: string }) => {
      if (message.free !== undefined) {
        this.free.push(message.free);
        this.wake();
      } else if (message.digest !== undefined) {
        this.digestResolve?.(message.digest);
      }
    });
    this.worker.on('error', (err) => {
      this.failure = err;
      this.wake();
    });
  }

  /** Queues bytes for hashing; waits only while every slot is in use. */
  async update(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; offset += SLOT_BYTES) {
      while (this.free.length === 0 && !this.failure) await new Promise<void>((resolve) => (this.wakeUp = resolve));
      if (this.failure) throw this.failure;
      const slot = this.free.shift()!;
      const part = chunk.subarray(offset, offset + SLOT_BYTES);
      this.slots.set(part, slot * SLOT_BYTES);
      this.worker.postMessage([slot, part.length]);
    }
  }

  /** Hex digest of everything queued so far; the worker ends afterwards. */
  async digest(): Promise<string> {
    if (this.failure) throw this.failure;
    const hex = await new Promise<string>((resolve) => {
      this.digestResolve = resolve;
      this.worker.postMessage('digest');
    });
    await this.worker.terminate();
    return hex;
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }
}
