import { Duplex, Writable } from 'node:stream';
import { CompressStream } from 'zstd-napi';
import type { ArchiveFormat } from '@prombackup/contract';
import { ParallelGzip } from './parallel-gzip';
import type { ReadSlots } from './read-slots';
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
export function createTarCompressor(format: Exclude<ArchiveFormat, 'tar'>, level: number, slots?: ReadSlots): Duplex {
  return format === 'tgz' ? new TarGzip(level, slots) : zstd(level, slots);
}

/** Parallel gzip members, with a member boundary before and after each large file's header. */
class TarGzip extends ParallelGzip {
  private readonly splitter = new TarBoundarySplitter(RESET_BEFORE_FILES_OVER);

  constructor(
    level: number,
    private readonly slots?: ReadSlots,
  ) {
    super(level);
  }

  protected override feed(chunk: Buffer): void {
    this.feedPieces(chunk);
    // add() copied the bytes into a member buffer (the splitter copies only a split header).
    this.slots?.release(chunk);
  }

  private feedPieces(chunk: Buffer): void {
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
  }

  protected override rest(): Buffer {
    return this.splitter.rest();
  }
}

/** zstd's own worker threads compress while this thread archives and sends. */
export const ZSTD_WORKERS = 2;
/** Input per zstd job: small jobs keep the buffers of both workers (and our memory) small. */
export const ZSTD_JOB_BYTES = 1024 * 1024;

function zstd(level: number, slots?: ReadSlots): Duplex {
  const inner = new CompressStream({ compressionLevel: level, checksumFlag: true, nbWorkers: ZSTD_WORKERS, jobSize: ZSTD_JOB_BYTES });
  const splitter = new TarBoundarySplitter(RESET_BEFORE_FILES_OVER);

  // Waits until zstd has taken the bytes in: compressStream2 copies them into its job buffers
  // synchronously, so the chunk's read slot is free again once its last piece is written.
  const write = (data: Buffer) =>
    new Promise<void>((resolve, reject) => {
      if (data.length === 0) resolve();
      else inner.write(data, (err) => (err ? reject(err) : resolve()));
    });
  // A new frame starts from nothing; concatenated frames are one valid zstd stream.
  const endFrame = () => new Promise<void>((resolve, reject) => inner.endFrame((err) => (err ? reject(err) : resolve())));

  const writable = new Writable({
    highWaterMark: 1024 * 1024,
    // Finishing the writable side must not tear down the compressor, which still has output to give.
    autoDestroy: false,
    write(chunk: Buffer, _encoding, callback) {
      (async () => {
        for (const piece of splitter.split(chunk)) {
          if (!piece.startsLargeFile) {
            await write(piece.data);
            continue;
          }
          await endFrame();
          await write(piece.data.subarray(0, TAR_BLOCK));
          await endFrame();
          await write(piece.data.subarray(TAR_BLOCK));
        }
      })().then(() => {
        slots?.release(chunk);
        callback();
      }, callback);
    },
    final(callback) {
      write(splitter.rest()).then(() => {
        inner.end();
        callback();
      }, callback);
    },
    destroy(error, callback) {
      inner.destroy(error ?? undefined);
      callback(error);
    },
  });
  return Duplex.from({ writable, readable: inner });
}
