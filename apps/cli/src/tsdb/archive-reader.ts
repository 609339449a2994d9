import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Header, extract as tarExtract } from 'tar-stream';
import { type Compression, decompressorFor } from './archive-compression';
import { type BlockMeta, MAX_META_BYTES, parseBlockMeta } from './block-meta';
import { BlockEntryError, isPrometheusWorkName, isUlid, placeEntry, segmentGap, splitEntryName } from './block-names';

/** One file of a block, by its path inside the block folder ('/'-separated). */
export interface BlockFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** A complete block found in an archive. */
export interface ArchivedBlock {
  ulid: string;
  meta: BlockMeta;
  /** meta.json as it is in the archive. */
  metaJson: Buffer;
  /** In archive order. */
  files: BlockFile[];
  /** Sum of the file sizes. */
  bytes: number;
}

/** What an archive holds, once read to the end and found to be nothing but complete blocks. */
export interface ArchiveListing {
  compression: Compression;
  /** The one top-level folder the blocks are in (the snapshot's name), or null when they are at the top. */
  prefix: string | null;
  /** Sorted by ULID. */
  blocks: ArchivedBlock[];
  /** Top-level names Prometheus keeps beside its blocks (wal, chunks_head…), left out. */
  skipped: string[];
  /** Bytes of the archive file, and of the tar stream inside it. */
  archiveBytes: number;
  tarBytes: number;
}

export interface FileVisit extends BlockFile {
  ulid: string;
  /** For a meta.json: what it says (already parsed and checked). */
  meta?: BlockMeta;
}

export interface ReadOptions {
  compression: Compression;
  /** Sees every byte of the archive as it is read (to hash it). */
  onArchiveBytes?: (chunk: Buffer) => void;
  /** Called for every block file in archive order, once its entry passed the checks; what it leaves of `body` is drained. */
  onFile?: (file: FileVisit, body: Readable) => Promise<void>;
}

/** The archive is damaged, cut, or holds something a restore must not write; the message says what and where. */
export class ArchiveError extends Error {}

const TAR_BLOCK = 512;
const padded = (size: number) => Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;

/** A pass-through stage that counts (and shows) the bytes going by. */
function tap(onChunk: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onChunk(chunk);
      done(null, chunk);
    },
  });
}

/** The run of zero bytes at the end of the stream so far, given the run before `chunk`. */
function zerosAtEnd(chunk: Buffer, before: number): number {
  let i = chunk.length - 1;
  while (i >= 0 && chunk[i] === 0) i--;
  return i < 0 ? before + chunk.length : chunk.length - 1 - i;
}

async function drain(body: Readable): Promise<void> {
  for await (const _ of body);
}

/** `body` whole, up to `limit` bytes; beyond that `refuse` records and returns the error thrown (leaving the loop destroys the entry, which fails the archive's pipeline with a vaguer error first). */
async function readAll(body: Readable, limit: number, name: string, refuse: (err: BlockEntryError) => BlockEntryError): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += (chunk as Buffer).length;
    if (length > limit) throw refuse(new BlockEntryError(`${JSON.stringify(name)}: larger than any meta.json (${limit} bytes)`));
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

interface BlockState {
  files: BlockFile[];
  metaJson?: Buffer;
  meta?: BlockMeta;
}

/**
 * Reads a tar archive (plain, gzip or zstd, as `compression` says) from `source` to its end and
 * checks every entry before handing it on: only regular files and folders, safe relative names,
 * under one top-level folder or none, each the folder or a file of a block
 * (`ULID/{meta.json,index,tombstones,chunks/N}`) or inside a name Prometheus keeps beside its
 * blocks (skipped); no entry twice; each meta.json naming its folder; every block complete; and
 * tar's end marker present, so a cut at an entry boundary is caught too. Throws an ArchiveError
 * naming the entry and the offsets at the first problem.
 */
export async function readBlockArchive(source: Readable, options: ReadOptions): Promise<ArchiveListing> {
  let archiveBytes = 0;
  let tarBytes = 0;
  let lastEnd = 0;
  let trailingZeros = 0;
  let current = '';
  let prefix: string | null | undefined;
  const seen = new Set<string>();
  const blocks = new Map<string, BlockState>();
  const skipped = new Set<string>();
  let callbackError: Error | undefined;
  let entryError: BlockEntryError | undefined;

  const visit = async (header: Header, body: Readable) => {
    const name = header.name;
    const type = header.type as Header['type'] | null;
    current = name;
    const size = header.size ?? 0;
    lastEnd = (header as Header & { byteOffset: number }).byteOffset + padded(type === 'directory' ? 0 : size);
    if (type !== 'file' && type !== 'directory') {
      throw new BlockEntryError(`${JSON.stringify(name)}: a ${type ?? 'entry of an unknown type'}${header.linkname ? ` to ${JSON.stringify(header.linkname)}` : ''}; only regular files and folders are allowed`);
    }
    let parts = splitEntryName(name);
    if (prefix === undefined && parts.length > 0) prefix = isUlid(parts[0]) || isPrometheusWorkName(parts[0]) ? null : parts[0];
    if (prefix) {
      if (parts[0] !== prefix) throw new BlockEntryError(`${JSON.stringify(name)}: outside ${prefix}/, the archive's one top-level folder`);
      parts = parts.slice(1);
    }
    const key = parts.join('/');
    if (seen.has(key)) throw new BlockEntryError(`${JSON.stringify(name)}: in the archive twice`);
    seen.add(key);
    const place = placeEntry(parts, type, name);
    if (place.kind === 'skipped') skipped.add(place.top);
    if (place.kind === 'block-dir' || place.kind === 'chunks-dir' || place.kind === 'block-file') {
      if (!blocks.has(place.ulid)) blocks.set(place.ulid, { files: [] });
    }
    if (place.kind !== 'block-file') return drain(body);
    const block = blocks.get(place.ulid)!;
    const file: FileVisit = { ulid: place.ulid, path: place.file, size, mtimeMs: header.mtime?.getTime() ?? 0 };
    block.files.push({ path: file.path, size, mtimeMs: file.mtimeMs });
    if (place.file === 'meta.json') {
      block.metaJson = await readAll(body, MAX_META_BYTES, name, (err) => (entryError ??= err));
      try {
        block.meta = parseBlockMeta(block.metaJson, place.ulid);
      } catch (err) {
        throw new BlockEntryError(`${JSON.stringify(name)}: ${(err as Error).message}`);
      }
      file.meta = block.meta;
      body = Readable.from([block.metaJson]);
    }
    if (options.onFile) {
      try {
        await options.onFile(file, body);
      } catch (err) {
        // The caller's own failure (a full disk…) is no fault of the archive: it goes out as it is.
        callbackError = err as Error;
        throw err;
      }
    }
    await drain(body);
  };

  const extract = tarExtract();
  extract.on('entry', (header, body, next) => {
    // An entry's stream also errors when the whole archive does; the pipeline reports that once
    // (tar-stream's own iterator does the same), and an unheard error would crash the process.
    body.on('error', () => undefined);
    visit(header, body as unknown as Readable).then(
      () => next(),
      (err: Error) => next(err),
    );
  });
  const decompress = decompressorFor(options.compression);
  try {
    await pipeline([
      source,
      tap((chunk) => {
        archiveBytes += chunk.length;
        options.onArchiveBytes?.(chunk);
      }),
      ...(decompress ? [decompress] : []),
      tap((chunk) => {
        tarBytes += chunk.length;
        trailingZeros = zerosAtEnd(chunk, trailingZeros);
      }),
      extract,
    ]);
  } catch (err) {
    if (callbackError) throw callbackError;
    if ((err as Error).name === 'AbortError') throw err;
    const where = `${current ? `at entry ${JSON.stringify(current)}, ` : ''}after ${archiveBytes} bytes of the archive${decompress ? ` (${tarBytes} unpacked)` : ''}`;
    if (entryError || err instanceof BlockEntryError) throw new ArchiveError(`${(entryError ?? (err as Error)).message} (${where})`);
    throw new ArchiveError(`damaged or cut: ${(err as Error).message} (${where})`);
  }
  // Node's zstd stops at the end of the last frame and drops what follows without a word (gzip fails on it).
  const consumed = (decompress as { bytesWritten?: number } | undefined)?.bytesWritten;
  if (consumed !== undefined && consumed < archiveBytes) {
    throw new ArchiveError(`damaged: ${archiveBytes - consumed} bytes after the end of the compressed data, which ends after ${consumed} of the archive's ${archiveBytes} bytes`);
  }
  // The end marker: two zero blocks right after the last entry (a cut after a PAX header fails this too).
  if (tarBytes < lastEnd + 2 * TAR_BLOCK || tarBytes - trailingZeros > lastEnd) {
    throw new ArchiveError(`cut: tar's end marker is missing (the file ends after ${archiveBytes} bytes of the archive${current ? `, last entry ${JSON.stringify(current)}` : ''})`);
  }
  return { compression: options.compression, prefix: prefix ?? null, blocks: completeBlocks(blocks), skipped: [...skipped].sort(), archiveBytes, tarBytes };
}

function completeBlocks(blocks: Map<string, BlockState>): ArchivedBlock[] {
  return [...blocks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([ulid, state]) => completeBlock(ulid, state));
}

/** The block, if it has its meta.json, index and at least one chunk segment; otherwise an ArchiveError naming what is missing. */
export function completeBlock(ulid: string, state: { files: BlockFile[]; metaJson?: Buffer; meta?: BlockMeta }): ArchivedBlock {
  const paths = new Set(state.files.map((f) => f.path));
  const missing = ['meta.json', 'index'].filter((p) => !paths.has(p));
  if (!state.files.some((f) => f.path.startsWith('chunks/'))) missing.push('chunks/ with a segment');
  if (missing.length > 0 || !state.meta || !state.metaJson) throw new ArchiveError(`block ${ulid} is incomplete: no ${missing.join(', no ')}`);
  const gap = segmentGap(paths);
  if (gap) throw new ArchiveError(`block ${ulid}: ${gap}`);
  return { ulid, meta: state.meta, metaJson: state.metaJson, files: state.files, bytes: state.files.reduce((sum, f) => sum + f.size, 0) };
}
