import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { type ArchiveListing, type ArchivedBlock, ArchiveError, type BlockMeta, type Compression, type FileVisit, type HeldLock, type ReadOptions, readBlockArchive, sniffFile } from '../tsdb';
import type { BesideStaging } from './beside-staging';
import { readChecksumFile } from '../checksum-file';
import type { BlockStaging } from './block-staging';

/** What a source holds, found by reading it all and checking every entry; nothing is written meanwhile. */
export interface SourceListing {
  blocks: ArchivedBlock[];
  /** Top-level names left out (wal, chunks_head…). */
  skipped: string[];
  /** The SHA-256 of the archive file, when asked for. */
  sha256?: string;
  /** Bytes read: the archive file, or the blocks of a folder. */
  bytes: number;
  compression?: Compression;
}

export interface Listed {
  listing: SourceListing;
  /** SHA-256 of each file of the blocks asked for, by ULID and path in the block. */
  hashes: Map<string, Map<string, string>>;
}

/** Where a restore reads blocks from: an archive (one pass, or two) or a sync folder. */
export interface RestoreSource {
  /** A path, or an s3:// URL. */
  readonly path: string;
  /** An archive (checked against its .sha256), rather than a folder or a manifest of blocks. */
  readonly archive: boolean;
  /** The SHA-256 that SOURCE.sha256 records, if there is one (archives only). */
  checksum?(): Promise<string | undefined>;
  /** Held from before the first read to the end of the restore, so that nothing changes the source meanwhile (a sync folder: no sync runs on it). */
  lock?(): Promise<HeldLock | undefined>;
  /** Pass 1: reads and checks everything, and hashes each file of the blocks in `hashBlocks` (to compare with blocks already there). */
  list(hashBlocks: Set<string>, sha256: boolean, signal: AbortSignal): Promise<Listed>;
  /** Pass 2: writes every file of the `chosen` blocks through `staging`. */
  copy(listing: SourceListing, chosen: Set<string>, staging: BlockStaging, signal: AbortSignal): Promise<void>;
  /**
   * Both at once, for a source that is costly to read twice: list()'s checks and hashes, and
   * meanwhile every other block written into `staging` (beside TSDB_DIR, placed only once all
   * checked out), except those whose meta.json `wanted` refuses.
   */
  extract?(hashBlocks: Set<string>, sha256: boolean, staging: BesideStaging, wanted: (meta: BlockMeta) => boolean, signal: AbortSignal): Promise<Listed>;
}

async function sha256Of(body: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The identity of a file, to notice it being replaced or changed between the two passes. */
const identity = (s: { dev: number; ino: number; size: number; mtimeMs: number }) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;

/** An archive made by create, in any format, recognised by content. */
/**
 * One read of an archive through `read`: its SHA-256 when asked, each file of `hashBlocks` hashed
 * (to compare with blocks already there), every other file handed to `write` when given.
 */
export async function listWithHashes(
  compression: Compression,
  hashBlocks: Set<string>,
  sha256: boolean,
  read: (options: ReadOptions) => Promise<ArchiveListing>,
  seen: (file: FileVisit) => void,
  write?: (file: FileVisit, body: Readable) => Promise<void>,
): Promise<Listed> {
  const whole = sha256 ? createHash('sha256') : undefined;
  const hashes = new Map<string, Map<string, string>>();
  const listing = await read({
    compression,
    onArchiveBytes: whole && ((chunk) => whole.update(chunk)),
    onFile: async (file, body) => {
      seen(file);
      if (!hashBlocks.has(file.ulid)) return write?.(file, body);
      if (!hashes.has(file.ulid)) hashes.set(file.ulid, new Map());
      hashes.get(file.ulid)!.set(file.path, await sha256Of(body));
    },
  });
  return {
    listing: { blocks: listing.blocks, skipped: listing.skipped, sha256: whole?.digest('hex'), bytes: listing.archiveBytes, compression },
    hashes,
  };
}

export class ArchiveSource implements RestoreSource {
  private seen?: string;
  /** Every block file of the first pass, in archive order, for the second to match. */
  private sequence: string[] = [];

  readonly archive = true;

  constructor(readonly path: string) {}

  checksum(): Promise<string | undefined> {
    return readChecksumFile(this.path);
  }

  /** One pass over the file; what is wrong with the archive is said with its path. */
  private async read(signal: AbortSignal, options: ReadOptions): Promise<ArchiveListing> {
    try {
      return await readBlockArchive(createReadStream(this.path, { highWaterMark: 1024 * 1024, signal }), options);
    } catch (err) {
      throw err instanceof ArchiveError ? new ArchiveError(`${this.path}: ${err.message}`) : err;
    }
  }

  list(hashBlocks: Set<string>, sha256: boolean, signal: AbortSignal): Promise<Listed> {
    return this.pass(hashBlocks, sha256, signal);
  }

  async extract(hashBlocks: Set<string>, sha256: boolean, staging: BesideStaging, wanted: (meta: BlockMeta) => boolean, signal: AbortSignal): Promise<Listed> {
    let last: string | undefined;
    return this.pass(hashBlocks, sha256, signal, async (file, body) => {
      // Blocks come one after another: the one the archive moved past goes to disk meanwhile.
      if (last !== undefined && last !== file.ulid) staging.written(last);
      last = file.ulid;
      if (file.meta && !wanted(file.meta)) staging.drop(file.ulid);
      await staging.write(file.ulid, file.path, body, file.mtimeMs);
    });
  }

  /** Reads and checks the whole archive; block files not hashed go to `write` when given. */
  private async pass(hashBlocks: Set<string>, sha256: boolean, signal: AbortSignal, write?: (file: FileVisit, body: Readable) => Promise<void>): Promise<Listed> {
    this.seen = identity(await fs.stat(this.path));
    this.sequence = [];
    const compression = await sniffFile(this.path);
    return listWithHashes(compression, hashBlocks, sha256, (options) => this.read(signal, options), (file) => this.sequence.push(`${file.ulid}/${file.path}:${file.size}`), write);
  }

  async copy(listing: SourceListing, chosen: Set<string>, staging: BlockStaging, signal: AbortSignal): Promise<void> {
    // The second pass must read what the first checked: the same file, then the same entries in the same order.
    const changed = () => new Error(`${this.path} changed since it was checked; nothing more is restored from it`);
    if (identity(await fs.stat(this.path)) !== this.seen) throw changed();
    const expected = this.sequence;
    const counts = new Map(listing.blocks.map((b) => [b.ulid, b.files.length]));
    let index = 0;
    await this.read(signal, {
      compression: listing.compression!,
      onFile: async (file, body) => {
        if (expected[index++] !== `${file.ulid}/${file.path}:${file.size}`) throw changed();
        if (chosen.has(file.ulid)) await staging.write(file.ulid, counts.get(file.ulid)!, file.path, body, file.mtimeMs);
      },
    });
    if (index !== expected.length || identity(await fs.stat(this.path)) !== this.seen) throw changed();
  }
}
