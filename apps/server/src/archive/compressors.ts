import { Writable, Duplex, type Transform } from 'node:stream';
import { once } from 'node:events';
import zlib from 'node:zlib';
import { CompressStream } from 'zstd-napi';
import type { ArchiveFormat } from '@prombackup/contract';
import { TarBoundarySplitter } from './tar-boundary-splitter';

/** Compression levels each compressed format accepts, and the default used when none is asked for. */
export const COMPRESSION_LEVELS = {
  tgz: { min: 1, max: 9, default: 1 },
  tzst: { min: 1, max: 19, default: 3 },
} as const satisfies Partial<Record<ArchiveFormat, { min: number; max: number; default: number }>>;

/** Files larger than this start on a fresh compressor state. */
export const RESET_BEFORE_FILES_OVER = 1024 * 1024;

// A tar header is one block; the splitter hands out a large file's piece with its whole header.
const TAR_BLOCK = 512;

interface ResettableCompressor {
  stream: Transform;
  /** Ends the current compressor state so that what follows compresses independently of what came before. */
  reset(callback: (error?: Error | null) => void): void;
}

function gzip(level: number): ResettableCompressor {
  const stream = zlib.createGzip({ level, chunkSize: 256 * 1024 });
  // A full flush empties the window as well as the buffers, so the next bytes compress the same
  // whatever preceded them.
  return { stream, reset: (cb) => stream.flush(zlib.constants.Z_FULL_FLUSH, () => cb()) };
}

function zstd(level: number): ResettableCompressor {
  const stream = new CompressStream({ compressionLevel: level, checksumFlag: true });
  // A new frame starts from nothing; concatenated frames are one valid zstd stream.
  return { stream, reset: (cb) => stream.endFrame(cb) };
}

/**
 * A compressor for a tar stream that resets its state in front of every large file, so identical
 * files give identical compressed runs (rsync and deduplicating stores can reuse them).
 */
export function createTarCompressor(format: Exclude<ArchiveFormat, 'tar'>, level: number): Duplex {
  const compressor = format === 'tgz' ? gzip(level) : zstd(level);
  const inner = compressor.stream;
  const splitter = new TarBoundarySplitter(RESET_BEFORE_FILES_OVER);

  const write = async (data: Buffer) => {
    if (data.length > 0 && !inner.write(data)) await once(inner, 'drain');
  };
  const reset = () =>
    new Promise<void>((resolve, reject) => compressor.reset((err) => (err ? reject(err) : resolve())));

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
          // Reset after the header as well: it names the snapshot, so it differs between archives
          // and would otherwise change how the file's data compresses.
          await reset();
          await write(piece.data.subarray(0, TAR_BLOCK));
          await reset();
          await write(piece.data.subarray(TAR_BLOCK));
        }
      })().then(() => callback(), callback);
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
