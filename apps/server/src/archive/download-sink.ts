import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import type { ReadSlots } from './read-slots';
import type { HashingPool, OffThreadSha256 } from './offthread-sha256';

/** Chunks that may wait for the hashing worker before the sink stops taking more. */
const HASH_AHEAD = 3;

/**
 * The end of a download's pipeline: counts the archive's bytes, hashes them on the hashing
 * worker and writes them to the response.
 *
 * Chunks that lie in the download's read slots go to the worker and to the socket without a
 * copy; their slot is released once both are done with it (the socket's write callback says
 * the kernel has the bytes). Other chunks (tar headers, the rare output that did not fit a slot)
 * are copied into the hash's ring.
 */
export class DownloadSink extends Writable {
  bytes = 0;
  private readonly hash: OffThreadSha256;
  private readonly hashing: Promise<void>[] = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly slots: ReadSlots,
    hashing: HashingPool,
    private readonly onBytes?: (n: number) => void,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.hash = hashing.hash(slots.memory);
    res.on('close', () => {
      if (!res.writableFinished) this.destroy(clientGone());
    });
    // A client gone before the archive started: its 'close' is past, and a write would only wait for a drain that never comes.
    if (res.destroyed) process.nextTick(() => this.destroy(clientGone()));
    // A write to a response whose socket is gone also errors; the close above says it better.
    res.on('error', (err) => this.destroy(err));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    let hashed: Promise<void>;
    if (this.slots.owns(chunk)) {
      // Two holders from here on: the hash and the socket, each releasing when done.
      try {
        this.slots.hold(chunk);
      } catch (err) {
        return callback(err as Error);
      }
      const done = this.hash.updateShared(chunk).then(() => this.slots.release(chunk));
      done.catch((err: Error) => this.destroy(err));
      // When hashing falls behind, wait for it rather than let it hold every slot.
      this.hashing.push(done);
      // They finish in order, so waiting for the oldest of too many is enough.
      hashed = this.hashing.length > HASH_AHEAD ? this.hashing.shift()! : Promise.resolve();
    } else {
      hashed = this.hash.update(chunk);
    }
    hashed.then(() => {
      const more = this.res.write(chunk, () => this.release(chunk));
      if (more) callback();
      else if (this.res.destroyed) callback(clientGone());
      else this.afterDrain(callback);
    }, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.res.end(() => callback());
  }

  /** Hex SHA-256 of everything written; call once, after the pipeline has settled. */
  digestHex(): Promise<string> {
    return this.hash.digest();
  }

  /**
   * Releases a chunk the socket is done with. A bookkeeping error here (a slot released twice)
   * fails this download; thrown from the socket's callback, it would end the whole server.
   */
  private release(chunk: Buffer): void {
    try {
      this.slots.release(chunk);
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  private afterDrain(callback: (err?: Error | null) => void): void {
    const done = () => {
      this.res.off('drain', done).off('close', done);
      callback();
    };
    // On close the sink is destroyed (see the constructor), which fails the pipeline.
    this.res.on('drain', done).on('close', done);
  }
}

function clientGone(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('client closed the connection before the archive was complete');
  err.code = 'ERR_STREAM_PREMATURE_CLOSE';
  return err;
}
