import os from 'node:os';
import { type Duplex, Transform, type TransformCallback } from 'node:stream';
import binding from 'zstd-napi/binding';
import type { ArchiveFormat } from '@prombackup/contract';
import { ParallelGzip } from './parallel-gzip';
import { ReadSlots, SLOT_BYTES } from './read-slots';
import { TarBoundarySplitter } from './tar-boundary-splitter';

/** Files larger than this start on a fresh compressor state. */
export const RESET_BEFORE_FILES_OVER = 1024 * 1024;

// A tar header is one block; the splitter hands out a large file's piece with its whole header.
const TAR_BLOCK = 512;

/**
 * A compressor for a tar stream that starts afresh around every large file, so identical files
 * give identical compressed runs (rsync and deduplicating stores can reuse them): before the
 * file's header, and again after it, since the header names the snapshot and so differs.
 */
export function createTarCompressor(format: Exclude<ArchiveFormat, 'tar'>, level: number, slots = new ReadSlots()): Duplex {
  return format === 'tgz' ? new TarGzip(level, slots) : new TarZstd(level, slots);
}

/** Parallel gzip members, with a member boundary before and after each large file's header. */
class TarGzip extends ParallelGzip {
  private readonly splitter = new TarBoundarySplitter(RESET_BEFORE_FILES_OVER);

  constructor(
    level: number,
    private readonly slots: ReadSlots,
  ) {
    super(level);
  }

  protected override feed(chunk: Buffer): void {
    for (const piece of this.splitter.split(chunk)) {
      if (!piece.startsLargeFile) {
        this.add(piece.data);
        continue;
      }
      this.cut();
      this.add(piece.data.subarray(0, TAR_BLOCK));
      this.cut();
      this.add(piece.data.subarray(TAR_BLOCK));
    }
    // add() copied the bytes into a member buffer (the splitter copies only a split header).
    this.slots.release(chunk);
  }

  protected override rest(): Buffer {
    return this.splitter.rest();
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

/**
 * zstd's own worker threads compress while this thread archives and sends. One more than the
 * cores: each frame ends around a large file, and zstd waits for its jobs there; a spare job
 * keeps the cores busy meanwhile (+5-8% on 2 cores, for ~10 MB more memory).
 */
export const ZSTD_WORKERS = Math.min(4, os.availableParallelism() + 1);
/** Input per zstd job: small jobs keep the buffers of both workers (and our memory) small. */
export const ZSTD_JOB_BYTES = 1024 * 1024;
/**
 * Each job first loads the end of the previous one as history: 2^(windowLog - 9 + overlapLog)
 * bytes. At level 3 zstd's default is 256 KiB, a quarter of our 1 MiB jobs; overlapLog 3 makes
 * it 32 KiB, measured 7% faster on TSDB data for 0.3% more output (64 KiB: 4%, 0.2%). Only at
 * the fast levels: above them compressing costs far more than loading history, and zstd keeps
 * more of it.
 */
export const ZSTD_OVERLAP_LOG = 3;
export const ZSTD_SHORT_OVERLAP_MAX_LEVEL = 4;

/** An output slot with less room than this is sent on, and compression goes on in a fresh one. */
const MIN_OUTPUT_ROOM = 64 * 1024;
const NO_BYTES = Buffer.alloc(0);

/**
 * zstd through the binding's streaming call, writing compressed bytes straight into the
 * download's slots: nothing is allocated per chunk, and the hashing worker reads the output
 * where it lies. A new frame starts around every large file; concatenated frames are one valid
 * zstd stream.
 */
class TarZstd extends Transform {
  private readonly cctx = new binding.CCtx();
  private readonly splitter = new TarBoundarySplitter(RESET_BEFORE_FILES_OVER);
  private out: Buffer;
  private outBytes = 0;
  // Whether bytes went in since the last frame ended: ending an empty frame would add one.
  private frameHasData = false;
  private sentAny = false;

  constructor(
    level: number,
    private readonly slots: ReadSlots,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.cctx.setParameter(binding.CParameter.compressionLevel, level);
    this.cctx.setParameter(binding.CParameter.checksumFlag, 1);
    this.cctx.setParameter(binding.CParameter.nbWorkers, ZSTD_WORKERS);
    this.cctx.setParameter(binding.CParameter.jobSize, ZSTD_JOB_BYTES);
    if (level <= ZSTD_SHORT_OVERLAP_MAX_LEVEL) this.cctx.setParameter(binding.CParameter.overlapLog, ZSTD_OVERLAP_LOG);
    this.out = slots.take();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      for (const piece of this.splitter.split(chunk)) {
        if (!piece.startsLargeFile) {
          this.compress(piece.data, false);
          continue;
        }
        this.endFrame();
        this.compress(piece.data.subarray(0, TAR_BLOCK), false);
        this.endFrame();
        this.compress(piece.data.subarray(TAR_BLOCK), false);
      }
      // compressStream2 copied what it consumed into zstd's own job buffers.
      this.slots.release(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.compress(this.splitter.rest(), false);
      // Empty input still gets one (empty) frame: zero bytes are no zstd stream.
      if (this.frameHasData || !this.sentAny) this.compress(NO_BYTES, true);
      this.sendOutput();
      this.slots.release(this.out);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private endFrame(): void {
    if (this.frameHasData) this.compress(NO_BYTES, true);
  }

  /** Feeds `input` to zstd; with `end`, also ends the frame and collects all of its output. */
  private compress(input: Buffer, end: boolean): void {
    if (input.length > 0) this.frameHasData = true;
    const directive = end ? binding.EndDirective.end : binding.EndDirective.continue;
    for (;;) {
      const [left, produced, consumed] = this.cctx.compressStream2(this.out.subarray(this.outBytes), input, directive);
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
