import os from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { GZIP_BLOCK_BYTES, GzipLane } from './gzip-lane';

/**
 * Members compressing at once, on libuv's thread pool (sized in bin/prombackup-server.js): two
 * per core keep every core busy while finished members wait their turn; more only hold memory.
 */
const IN_FLIGHT = Math.min(8, Math.max(4, 2 * os.availableParallelism()));

interface Member {
  lane: GzipLane;
  output: Promise<Buffer>;
}

/**
 * gzip as a series of independent members, compressed in parallel on the thread pool — the pigz
 * idea, without its shared dictionary. Concatenated members are one valid gzip stream that every
 * reader (gzip, GNU tar, Go's compress/gzip) decompresses whole.
 *
 * Input is copied into the lanes' buffers, so the caller may reuse its chunk as soon as feed()
 * returns. cut() ends the current member early; the caller uses it around large files, so a
 * file's data always starts a member and its members depend on nothing but its bytes.
 */
export class ParallelGzip extends Transform {
  private filling: GzipLane | undefined;
  private fillBytes = 0;
  private readonly idle: GzipLane[] = [];
  private readonly lanes: GzipLane[] = [];
  private readonly queue: Member[] = [];

  constructor(private readonly level: number) {
    super({ highWaterMark: 1024 * 1024 });
  }

  /** Adds bytes to the current member, starting new members every GZIP_BLOCK_BYTES. */
  add(data: Buffer): void {
    while (data.length > 0) {
      this.filling ??= this.idleLane();
      const take = Math.min(GZIP_BLOCK_BYTES - this.fillBytes, data.length);
      data.copy(this.filling.input, this.fillBytes, 0, take);
      this.fillBytes += take;
      data = data.subarray(take);
      if (this.fillBytes === GZIP_BLOCK_BYTES) this.cut();
    }
  }

  /** Ends the current member, if it has any bytes. */
  cut(): void {
    const lane = this.filling;
    if (!lane || this.fillBytes === 0) return;
    const output = lane.compress(this.fillBytes);
    output.catch(() => undefined); // awaited in order by pushFinished(); this only avoids an unhandled rejection
    this.queue.push({ lane, output });
    this.filling = undefined;
    this.fillBytes = 0;
  }

  /** Pushes finished members in order until at most `keep` are still compressing. */
  async pushFinished(keep = IN_FLIGHT): Promise<void> {
    while (this.queue.length > keep) {
      const { lane, output } = this.queue.shift()!;
      this.push(this.handOver(await output));
      lane.recycle();
      this.idle.push(lane);
    }
  }

  /**
   * What is pushed for a finished member. It must not share memory with `member`, which the
   * member's lane overwrites next; subclasses may copy it somewhere better than a new buffer.
   */
  protected handOver(member: Buffer): Buffer {
    return Buffer.from(member);
  }

  /** Takes in one written chunk; subclasses decide where members must end. */
  protected feed(chunk: Buffer): void {
    this.add(chunk);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.feed(chunk);
    } catch (err) {
      // Thrown from here it would reach whoever wrote the chunk, outside any handler.
      return callback(err as Error);
    }
    this.pushFinished().then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.cut();
    this.pushFinished(0).then(
      () => {
        this.closeLanes();
        callback();
      },
      callback,
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.closeLanes();
    callback(err);
  }

  private idleLane(): GzipLane {
    let lane = this.idle.pop();
    if (!lane) {
      lane = new GzipLane(this.level);
      this.lanes.push(lane);
    }
    return lane;
  }

  /** Frees every lane's zlib memory; one still compressing is freed by zlib when it returns. */
  private closeLanes(): void {
    for (const lane of this.lanes.splice(0)) lane.close();
    this.idle.length = 0;
  }
}
