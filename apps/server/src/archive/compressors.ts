import { type Duplex, Transform, type TransformCallback } from 'node:stream';
import type { ArchiveFormat } from '@prombackup/contract';
import { ParallelGzip } from './parallel-gzip';
import { FileBoundaries, RESET_BEFORE_FILES_OVER } from './file-boundaries';
import { ReadSlots, SLOT_BYTES } from './read-slots';
import { NODE_HAS_ZSTD, NodeTarZstd, zstdNapiLoads } from './node-zstd';
import { OffThreadZstd } from './offthread-zstd';
import { zstdParameters } from './zstd-settings';

export { RESET_BEFORE_FILES_OVER };

/** What compresses tzst downloads on this server (logged at start). */
export type ZstdEngine = 'zstd-napi' | 'node:zlib' | 'none';
export const ZSTD_ENGINE: ZstdEngine = zstdNapiLoads() ? 'zstd-napi' : NODE_HAS_ZSTD ? 'node:zlib' : 'none';

/**
 * A compressor for a tar stream that compresses every large file's data on its own (see
 * FileBoundaries), so identical files give identical compressed runs that rsync and
 * deduplicating stores can reuse, whatever names and headers surround them.
 */
export function createTarCompressor(
  format: Exclude<ArchiveFormat, 'tar'>,
  level: number,
  slots = new ReadSlots(),
  boundaries = new FileBoundaries(),
  zstd: ZstdEngine = ZSTD_ENGINE,
): Duplex {
  if (format === 'tgz') return new TarGzip(level, slots, boundaries);
  return zstd === 'zstd-napi' ? new TarZstd(level, slots, boundaries) : new NodeTarZstd(zstdParameters(level), slots, boundaries);
}

/** Parallel gzip members, a large file's data starting and ending members of its own. */
class TarGzip extends ParallelGzip {
  constructor(
    level: number,
    private readonly slots: ReadSlots,
    private readonly boundaries: FileBoundaries,
  ) {
    super(level);
  }

  protected override feed(chunk: Buffer): void {
    if (this.boundaries.startsFile(chunk)) this.cut();
    this.add(chunk);
    if (this.boundaries.endsFile(chunk)) this.cut();
    // add() copied the bytes into a member buffer.
    this.slots.release(chunk);
  }

  /**
   * A member moves into one of the download's slots, which the hashing worker reads in place:
   * this copy replaces the one into the hash's ring, and frees the lane for its next member.
   */
  protected override handOver(member: Buffer): Buffer {
    if (member.length > SLOT_BYTES) return Buffer.from(member);
    const slot = this.slots.take();
    member.copy(slot);
    return slot.subarray(0, member.length);
  }
}

/** An output slot with less room than this is sent on, and compression goes on in a fresh one. */
const MIN_OUTPUT_ROOM = 64 * 1024;
const NO_BYTES = Buffer.alloc(0);

/**
 * zstd through the binding's streaming call, run on a thread of its own (OffThreadZstd), writing
 * compressed bytes straight into the download's slots: nothing is allocated per chunk, and the
 * hashing worker reads the output where it lies. A large file's data is a frame of its own;
 * concatenated frames are one valid zstd stream.
 */
class TarZstd extends Transform {
  private readonly zstd: OffThreadZstd;
  private out: Buffer;
  private outBytes = 0;
  // Whether bytes went in since the last frame ended: ending an empty frame would add one.
  private frameHasData = false;
  private sentAny = false;

  constructor(
    level: number,
    private readonly slots: ReadSlots,
    private readonly boundaries: FileBoundaries,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.zstd = new OffThreadZstd(zstdParameters(level));
    this.out = slots.take();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.compressChunk(chunk).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.finish().then(() => callback(), callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.zstd.close().then(
      () => callback(err),
      () => callback(err),
    );
  }

  private async compressChunk(chunk: Buffer): Promise<void> {
    if (this.boundaries.startsFile(chunk)) await this.endFrame();
    await this.compress(chunk, false);
    if (this.boundaries.endsFile(chunk)) await this.endFrame();
    // zstd copied what it consumed into its own job buffers.
    this.slots.release(chunk);
  }

  private async finish(): Promise<void> {
    // Empty input still gets one (empty) frame: zero bytes are no zstd stream.
    if (this.frameHasData || !this.sentAny) await this.compress(NO_BYTES, true);
    this.sendOutput();
    this.slots.release(this.out);
    await this.zstd.close();
  }

  private async endFrame(): Promise<void> {
    if (this.frameHasData) await this.compress(NO_BYTES, true);
  }

  /** Feeds `input` to zstd; with `end`, also ends the frame and collects all of its output. */
  private async compress(input: Buffer, end: boolean): Promise<void> {
    if (input.length > 0) this.frameHasData = true;
    for (;;) {
      const [left, produced, consumed] = await this.zstd.compressStream2(this.out.subarray(this.outBytes), input, end);
      this.outBytes += produced;
      input = input.subarray(consumed);
      if (this.out.length - this.outBytes < MIN_OUTPUT_ROOM) this.sendOutput();
      if (input.length === 0 && (!end || left === 0)) break;
    }
    if (end) this.frameHasData = false;
  }

  private sendOutput(): void {
    if (this.outBytes === 0) return;
    const full = this.out.subarray(0, this.outBytes);
    this.out = this.slots.take();
    this.outBytes = 0;
    this.sentAny = true;
    this.push(full);
  }
}
