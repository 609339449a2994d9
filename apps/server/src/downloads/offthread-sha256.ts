import { Worker } from 'node:worker_threads';

// Kept as source text so the same code runs from the compiled server and from TypeScript tests.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (message) => {
  if (message === 'digest') parentPort.postMessage({ digest: hash.digest('hex') });
  else {
    hash.update(new Uint8Array(message));
    parentPort.postMessage({ hashed: message.byteLength });
  }
});
`;

/** Bytes handed to the worker but not hashed yet before update() makes the caller wait. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/**
 * SHA-256 computed on a worker thread. Hashing one stream is bound to one core; doing it beside
 * the thread that reads, archives and sends lets both run at full speed.
 */
export class OffThreadSha256 {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private pendingBytes = 0;
  private failure?: Error;
  private wakeUp?: () => void;
  private digestResolve?: (hex: string) => void;

  constructor() {
    this.worker.unref();
    this.worker.on('message', (message: { hashed?: number; digest?: string }) => {
      if (message.hashed !== undefined) {
        this.pendingBytes -= message.hashed;
        if (this.pendingBytes <= MAX_PENDING_BYTES) this.wake();
      } else if (message.digest !== undefined) {
        this.digestResolve?.(message.digest);
      }
    });
    this.worker.on('error', (err) => {
      this.failure = err;
      this.wake();
    });
  }

  /** Queues bytes for hashing; resolves at once unless too much is still waiting. */
  async update(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    // One copy into a buffer of its own, then moved (not copied again) to the worker.
    const copy = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
    this.pendingBytes += copy.byteLength;
    this.worker.postMessage(copy, [copy]);
    while (this.pendingBytes > MAX_PENDING_BYTES && !this.failure) {
      await new Promise<void>((resolve) => (this.wakeUp = resolve));
    }
    if (this.failure) throw this.failure;
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

  /** Stops the worker without a digest (after a failure elsewhere). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }
}
