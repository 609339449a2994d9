import zlib from 'node:zlib';

/** Input bytes per gzip member: the fastest size measured, at a negligible cost in ratio. */
export const GZIP_BLOCK_BYTES = 1024 * 1024;

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

