import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi';
import { COMPRESSION_LEVELS } from '@prombackup/contract';
import { createTarCompressor, RESET_BEFORE_FILES_OVER, type ZstdEngine } from './compressors';
import { FileBoundaries } from './file-boundaries';
import { GZIP_BLOCK_BYTES, gzipMemberOptions } from './gzip-lane';
import { ZSTD_OVERLAP_LOG, ZSTD_SHORT_OVERLAP_MAX_LEVEL, zstdParameters } from './zstd-settings';
import { words } from '../../../../test/support/text';
import { zstdStreamed } from '../../../../test/support/zstd-reference';

const MiB = 1024 * 1024;
type Format = 'tgz' | 'tzst';
/** Each format, tzst with both engines: zstd-napi and Node's own zstd (a server installed without zstd-napi). */
const VARIANTS: [label: string, format: Format, engine: ZstdEngine][] = [
  ['tgz', 'tgz', 'zstd-napi'],
  ['tzst', 'tzst', 'zstd-napi'],
  ['tzst on node:zlib', 'tzst', 'node:zlib'],
];

/** A tar as tar-stream writes it: its bytes, the pieces it pushed, and which pieces are large files' data. */
interface Tar {
  bytes: Buffer;
  pieces: Buffer[];
  large: Set<Buffer>;
}

async function makeTar(entries: [name: string, content: Buffer][]): Promise<Tar> {
  const p = pack();
  const pieces: Buffer[] = [];
  p.on('data', (piece) => pieces.push(piece as Buffer));
  const ended = new Promise<void>((resolve) => p.once('end', () => resolve()));
  for (const [name, content] of entries) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ name, mode: 0o644, mtime: new Date(1_700_000_000_000) }, content, (err) => (err ? reject(err) : resolve())),
    );
  }
  p.finalize();
  await ended;
  const large = new Set(entries.map(([, content]) => content).filter((content) => content.length > RESET_BEFORE_FILES_OVER));
  return { bytes: Buffer.concat(pieces), pieces, large };
}

function* chunks(data: Buffer, size: number) {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/**
 * The tar in chunks of at most `size` bytes, as the server's reader hands them on: headers and
 * small files in any chunking, a large file's data in chunks of its own, marked in `boundaries`.
 */
function* tarChunks(tar: Tar, size: number, boundaries: FileBoundaries) {
  let small: Buffer[] = [];
  for (const piece of [...tar.pieces, null]) {
    if (piece && !tar.large.has(piece)) {
      small.push(piece);
      continue;
    }
    yield* chunks(Buffer.concat(small), size);
    small = [];
    if (!piece) break;
    for (const chunk of chunks(piece, size)) {
      boundaries.mark(chunk, chunk.byteOffset - piece.byteOffset, piece.length);
      yield chunk;
    }
  }
}

/** Runs a tar through createTarCompressor in chunks of the given size. */
async function compressTarWith(
  format: Format,
  tar: Tar,
  chunkSize = 64 * 1024,
  level: number = COMPRESSION_LEVELS[format].default,
  engine: ZstdEngine = 'zstd-napi',
) {
  const boundaries = new FileBoundaries();
  const compressor = createTarCompressor(format, level, undefined, boundaries, engine);
  const [, out] = await Promise.all([pipeline(Readable.from(tarChunks(tar, chunkSize, boundaries)), compressor), buffer(compressor)]);
  return out;
}

function decompress(format: Format, data: Buffer): Buffer {
  return format === 'tgz' ? zlib.gunzipSync(data) : zstdDecompress(data);
}

/**
 * The file's data compressed on its own from a fresh state, as the compressor must reproduce it
 * wherever the file sits: for tgz its first gzip member, for tzst the whole frame of the file.
 */
async function compressedRunOf(format: Format, data: Buffer, engine: ZstdEngine): Promise<Buffer> {
  const level = COMPRESSION_LEVELS[format].default;
  if (format === 'tgz') return zlib.gzipSync(data.subarray(0, GZIP_BLOCK_BYTES), gzipMemberOptions(level));
  if (engine === 'node:zlib') return nodeZstdRunOf(data, level);
  return zstdRunOf(data, level, ZSTD_OVERLAP_LOG);
}

/** The same through Node's zstd, streamed (as the server does, so the frame states no content size). */
async function nodeZstdRunOf(data: Buffer, level: number): Promise<Buffer> {
  const c = zlib.constants as unknown as Record<string, number>;
  const stream = (zlib as unknown as { createZstdCompress(o: object): NodeJS.ReadWriteStream }).createZstdCompress({
    params: { [c.ZSTD_c_compressionLevel]: level, [c.ZSTD_c_checksumFlag]: 1 },
  });
  const [, out] = await Promise.all([pipeline(Readable.from(chunks(data, 100_000)), stream), buffer(stream)]);
  return out;
}

/** The same for tzst at any level; `overlapLog` undefined leaves zstd's own job history. */
async function zstdRunOf(data: Buffer, level: number, overlapLog: number | undefined): Promise<Buffer> {
  const { overlapLog: _serverOverlap, ...parameters } = zstdParameters(level);
  return zstdStreamed(data, { ...parameters, ...(overlapLog === undefined ? {} : { overlapLog }) });
}

function occurrences(haystack: Buffer, needle: Buffer): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) count++;
  return count;
}

describe('createTarCompressor', () => {
  // 3 MiB, over the reset threshold, stored twice under different names behind different small files,
  // as the same TSDB block shows up in two snapshots.
  const big = words(3 * MiB, 99);
  let twice: Tar;
  let snapshotA: Tar;
  let snapshotB: Tar;
  let tmp: string;

  beforeAll(async () => {
    expect(big.length).toBeGreaterThan(RESET_BEFORE_FILES_OVER);
    twice = await makeTar([
      ['20240101T000000Z-aaaa/meta.json', words(3_000, 1)],
      ['20240101T000000Z-aaaa/01HAAA/chunks/000001', big],
      ['20240102T000000Z-bbbb/index', words(5_000, 2)],
      ['20240102T000000Z-bbbb/meta.json', words(700, 3)],
      ['20240102T000000Z-bbbb/01HAAA/chunks/000001', big],
    ]);
    snapshotA = await makeTar([
      ['20240101T000000Z-aaaa/meta.json', words(3_000, 1)],
      ['20240101T000000Z-aaaa/01HAAA/chunks/000001', big],
      ['20240101T000000Z-aaaa/tombstones', words(10, 4)],
    ]);
    snapshotB = await makeTar([
      ['20240309T121314Z-cccccccc/01HBBB/meta.json', words(1_234, 5)],
      ['20240309T121314Z-cccccccc/01HAAA/chunks/000001', big],
    ]);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'prombackup-compressors-'));
  });

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  describe.each(VARIANTS)('%s', (_label, format, engine) => {
    const compressTar = (f: Format, tar: Tar, chunkSize?: number, level?: number) => compressTarWith(f, tar, chunkSize, level, engine);

    it('passes incompressible data through whole (members or blocks larger than their input)', async () => {
      // More 1 MiB members than gzip has lanes, so a lane writes again where an earlier member was.
      const noise = await makeTar([['20240101T000000Z-aaaa/01HAAA/chunks/000002', randomBytes(8 * MiB + 123)]]);
      const out = await compressTar(format, noise, 1 * MiB);
      expect(out.length).toBeGreaterThan(noise.bytes.length * 0.99);
      expect(decompress(format, out).equals(noise.bytes)).toBe(true);
    });

    it('decompresses to exactly the input tar, whatever the chunking', async () => {
      for (const chunkSize of [1_000, 511, 64 * 1024, 5 * MiB]) {
        const out = await compressTar(format, twice, chunkSize);
        expect(decompress(format, out).equals(twice.bytes)).toBe(true);
      }
    });

    it('gives identical compressed bytes for the same large file, within one archive and across archives', async () => {
      const probe = await compressedRunOf(format, big, engine);
      expect(probe.length).toBeGreaterThan(100_000);
      expect(occurrences(await compressTar(format, twice), probe)).toBe(2);
      expect(occurrences(await compressTar(format, snapshotA), probe)).toBe(1);
      expect(occurrences(await compressTar(format, snapshotB, 7_777), probe)).toBe(1);
    });

    it('(control) a compressor without resets does not reproduce the run, so the check above can fail', async () => {
      const probe = await compressedRunOf(format, big, engine);
      const plain =
        format === 'tgz' ? zlib.gzipSync(twice.bytes, { level: 1 }) : zstdCompress(twice.bytes, { compressionLevel: 3, checksumFlag: true });
      expect(occurrences(plain, probe)).toBe(0);
    });

    it('is accepted by the system tool, which decompresses it to the input tar', async () => {
      const out = await compressTar(format, twice);
      const file = path.join(tmp, `twice.${format}`);
      writeFileSync(file, out);
      const tool = format === 'tgz' ? 'gzip' : 'zstd';
      execFileSync(tool, ['-t', file], { stdio: 'pipe' });
      const restored = execFileSync(tool, ['-d', '-c', file], { maxBuffer: 64 * MiB });
      expect(restored.equals(twice.bytes)).toBe(true);
    });

    it('still compresses trailing bytes that do not form a whole tar block', async () => {
      const odd = { ...twice, pieces: [...twice.pieces, Buffer.from('tail of a cut stream')] };
      odd.bytes = Buffer.concat(odd.pieces);
      expect(decompress(format, await compressTar(format, odd, 100_000)).equals(odd.bytes)).toBe(true);
    });

    it('honours the compression level', async () => {
      const data = await makeTar([['a', words(300_000, 8)]]);
      const { min, max } = COMPRESSION_LEVELS[format];
      const fast = await compressTar(format, data, 64 * 1024, min);
      const small = await compressTar(format, data, 64 * 1024, max);
      expect(small.length).toBeLessThan(fast.length);
      expect(decompress(format, small).equals(data.bytes)).toBe(true);
    });

    it('fails the pipeline when its input fails, rather than ending a valid-looking archive', async () => {
      const compressor = createTarCompressor(format, COMPRESSION_LEVELS[format].default, undefined, undefined, engine);
      const input = new Readable({
        read() {
          this.push(twice.bytes.subarray(0, 100_000));
          this.destroy(new Error('disk gone'));
        },
      });
      const sink = buffer(compressor).catch((err: Error) => err);
      await expect(pipeline(input, compressor)).rejects.toThrow('disk gone');
      expect(compressor.destroyed).toBe(true);
      await sink;
    });
  });

  describe('tzst job history', () => {
    // Each 1 MiB job of a large file first loads the end of the job before it; how much is the
    // only difference between these references, so each check below can fail.
    it(`loads a short history (overlapLog ${ZSTD_OVERLAP_LOG}) at the fast levels, up to ${ZSTD_SHORT_OVERLAP_MAX_LEVEL}`, async () => {
      const out = await compressTarWith('tzst', snapshotA, 64 * 1024, ZSTD_SHORT_OVERLAP_MAX_LEVEL);
      expect(occurrences(out, await zstdRunOf(big, ZSTD_SHORT_OVERLAP_MAX_LEVEL, ZSTD_OVERLAP_LOG))).toBe(1);
      expect(occurrences(out, await zstdRunOf(big, ZSTD_SHORT_OVERLAP_MAX_LEVEL, undefined))).toBe(0);
    });

    it('keeps zstd\'s own, longer history above them, where compressing costs far more than loading it', async () => {
      const level = ZSTD_SHORT_OVERLAP_MAX_LEVEL + 1;
      const out = await compressTarWith('tzst', snapshotA, 64 * 1024, level);
      expect(occurrences(out, await zstdRunOf(big, level, undefined))).toBe(1);
      expect(occurrences(out, await zstdRunOf(big, level, ZSTD_OVERLAP_LOG))).toBe(0);
    });
  });
});
