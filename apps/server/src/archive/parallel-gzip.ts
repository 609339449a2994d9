import os from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

/** Input bytes per gzip member: the fastest size measured, at a negligible cost in ratio. */
export const GZIP_BLOCK_BYTES = 1024 * 1024;

/**
 * Members compressing at once, on libuv's thread pool (sized in bin/prombackup-server.js): two
 * per core keep every core busy while finished members wait their turn; more only hold memory.
 */
const IN_FLIGHT = Math.min(8, Math.max(4, 2 * os.availableParallelism()));

/**
 * Room for a whole member's output, so zlib compresses it in one pass on the thread pool rather
 * than coming back to the main thread for every 16 KiB (its default). Incompressible input grows
 * by a few bytes per 16 KiB block; anything beyond this still works, in a second pass.
 */
const OUTPUT_BYTES = GZIP_BLOCK_BYTES + 64 * 1024;

/** zlib's settings for each member. */
export function gzipMemberOptions(level: number): zlib.ZlibOptions {
  // memLevel 9, a larger hash table, is faster than the default at the same output size.
  return { level, memLevel: 9, chunkSize: OUTPUT_BYTES };
}

/**
 * The parts of Node's zlib object that a lane drives directly rather than as a stream. They are
 * underscored internals (npm's tar, through minizlib, calls _processChunk too). Should a Node
 * release rename them, output stays correct (zlib would allocate per member again) and
 * parallel-gzip.spec.ts, which checks that members share memory, fails.
 */
interface ZlibEngine extends zlib.Gzip {
  /** Compresses one chunk with the given flush on the thread pool (Node keeps it for compatibility). */
  _processChunk(chunk: Buffer, flushFlag: number, callback: () => void): void;
  /** Where in its output buffer zlib writes next. */
  _outOffset: number;
  reset(): void;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * One gzip compressor kept for many members, with its input buffer. zlib's state and its output
 * buffer are allocated once: after reset() zlib writes the next member where the last one was,
 * so a download allocates nothing per member. (A fresh zlib.gzip() per member left a 1 MiB
 * output buffer per member for the garbage collector, tens of MB at a time.)
 */
export class GzipLane {
  readonly input = Buffer.allocUnsafe(GZIP_BLOCK_BYTES);
  private readonly engine: ZlibEngine;
  private failed?: (err: Error) => void;

  constructor(level: number) {
    // The readable side never holds more than a member, so zlib never waits for it to drain.
    // (Node hands the options to the stream as well, highWaterMark included.)
    this.engine = zlib.createGzip({ ...gzipMemberOptions(level), highWaterMark: 2 * OUTPUT_BYTES } as zlib.ZlibOptions) as ZlibEngine;
    this.engine.on('error', (err) => this.failed?.(err));
  }

  /**
   * Compresses input[0, length) as one whole gzip member. The result may lie in the lane's own
   * memory: copy it before calling recycle().
   */
  compress(length: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.failed = reject;
      this.engine._processChunk(this.input.subarray(0, length), zlib.constants.Z_FINISH, () => {
        this.failed = undefined;
        // close() during a compression calls back here with the engine already gone.
        if (this.engine.destroyed) return reject(new Error('the gzip compressor was closed'));
        const member = (this.engine.read() as Buffer | null) ?? NO_BYTES;
        this.engine.reset();
        resolve(member);
      });
    });
  }

  /** Lets the next member overwrite the last one's output. */
  recycle(): void {
    this.engine._outOffset = 0;
  }

  close(): void {
    this.engine.close();
  }
}

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

  /** Bytes still held by the subclass when the input ends. */
  protected rest(): Buffer | undefined {
    return undefined;
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
    const rest = this.rest();
    if (rest) this.add(rest);
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
