import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gzipAsync = promisify(zlib.gzip);

/** Input bytes per gzip member: 1 MiB measured fastest, and the restarts cost well under 1% of ratio. */
export const GZIP_BLOCK_BYTES = 1024 * 1024;

/** Members compressing at once, on libuv's thread pool (sized in bin/prombackup-server.js). */
const IN_FLIGHT = 8;

/**
 * gzip as a series of independent members, compressed in parallel on the thread pool — the pigz
 * idea, without its shared dictionary. Concatenated members are one valid gzip stream that every
 * reader (gzip, GNU tar, Go's compress/gzip) decompresses whole.
 *
 * cut() ends the current member early; the caller uses it around large files, so a file's data
 * always starts a member and its members depend on nothing but its bytes.
 */
export class ParallelGzip extends Transform {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private readonly queue: Promise<Buffer>[] = [];

  constructor(private readonly level: number) {
    super({ highWaterMark: 1024 * 1024 });
  }

  /** Adds bytes to the current member, starting new members every GZIP_BLOCK_BYTES. */
  add(data: Buffer): void {
    while (data.length > 0) {
      const take = Math.min(GZIP_BLOCK_BYTES - this.partBytes, data.length);
      this.parts.push(data.subarray(0, take));
      this.partBytes += take;
      data = data.subarray(take);
      if (this.partBytes === GZIP_BLOCK_BYTES) this.cut();
    }
  }

  /** Ends the current member, if it has any bytes. */
  cut(): void {
    if (this.partBytes === 0) return;
    const input = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partBytes);
    this.parts = [];
    this.partBytes = 0;
    const member = gzipAsync(input, { level: this.level });
    member.catch(() => undefined); // awaited in order by pushFinished(); this only avoids an unhandled rejection
    this.queue.push(member);
  }

  /** Pushes finished members in order until at most `keep` are still compressing. */
  async pushFinished(keep = IN_FLIGHT): Promise<void> {
    while (this.queue.length > keep) this.push(await this.queue.shift()!);
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
    this.feed(chunk);
    this.pushFinished().then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.rest();
    if (rest) this.add(rest);
    this.cut();
    this.pushFinished(0).then(() => callback(), callback);
  }
}
