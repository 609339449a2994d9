import fs from 'node:fs/promises';
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';

/** How an archive's tar stream is wrapped. */
export type Compression = 'none' | 'gzip' | 'zstd';

/** Bytes needed to tell the formats apart: a tar header's "ustar" magic sits at offset 257. */
export const SNIFF_BYTES = 262;

const startsWith = (head: Buffer, bytes: number[]) => bytes.every((b, i) => head[i] === b);

/** Tells tar, gzip and zstd apart by their first bytes; anything else is an error that says what it looks like. */
export function detectCompression(head: Buffer): Compression {
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  // A zstd frame, or a skippable frame (0x184D2A50-5F, little-endian) that may precede one.
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd]) || (head.length >= 4 && (head[0] & 0xf0) === 0x50 && startsWith(head.subarray(1), [0x2a, 0x4d, 0x18]))) return 'zstd';
  if (head.length >= SNIFF_BYTES && head.subarray(257, 262).toString('latin1') === 'ustar') return 'none';
  if (head.length === 0) throw new Error('the file is empty');
  const other = startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a]) ? 'xz' : startsWith(head, [0x42, 0x5a, 0x68]) ? 'bzip2' : startsWith(head, [0x50, 0x4b, 0x03, 0x04]) ? 'zip' : undefined;
  if (other) throw new Error(`it is ${other}-compressed; prombackup archives are tar, tar.gz or tar.zst`);
  throw new Error(`it is not a tar, tar.gz or tar.zst archive (first bytes ${head.subarray(0, 8).toString('hex')})`);
}

/** Node's own zstd (22.15 and later), which decompresses on the thread pool rather than on the main thread. */
// Not on Node 22: its zstd stops after the first frame and ends a cut stream without an error.
const createZstdDecompress =
  Number(process.versions.node.split('.')[0]) >= 24
    ? (zlib as unknown as { createZstdDecompress?: (o: { chunkSize: number }) => Transform }).createZstdDecompress
    : undefined;

/** A stream that undoes `compression`, or undefined for a plain tar. */
export function decompressorFor(compression: Compression): Transform | undefined {
  // 1 MiB output chunks: fewer, larger writes downstream than zlib's 16 KiB default (see docs/performance.md).
  if (compression === 'gzip') return zlib.createGunzip({ chunkSize: 1024 * 1024 });
  if (compression === 'zstd') return createZstdDecompress ? createZstdDecompress({ chunkSize: 1024 * 1024 }) : zstdNapiDecompressor();
  return undefined;
}

/** zstd-napi's decompressor, for Node 22; it is an optional dependency, compiled at install when a compiler is there. */
function zstdNapiDecompressor(): Transform {
  let zstdNapi: typeof import('zstd-napi');
  try {
    zstdNapi = require('zstd-napi') as typeof import('zstd-napi');
  } catch {
    throw new Error(`reading tar.zst on Node ${process.versions.node} needs zstd-napi, which is not installed (it is compiled at install: python3, make, g++); Node 24 or newer reads tar.zst without it`);
  }
  return new zstdNapi.DecompressStream();
}

/** The compression of the archive at `file`, by its first bytes; errors name the file. */
export async function sniffFile(file: string): Promise<Compression> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    return detectCompression(head.subarray(0, bytesRead));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  } finally {
    await handle.close();
  }
}
