import fs from 'node:fs/promises';
import path from 'node:path';
import { lockDirForReading } from '../sync/dir-lock';
import { type ArchivedBlock, ArchiveError, type BlockFile, BlockEntryError, type HeldLock, MAX_META_BYTES, completeBlock, parseBlockMeta, placeEntry, sha256OfFile } from '../tsdb';
import type { BlockStaging } from './block-staging';
import type { RestoreSource, SourceListing } from './restore-source';

/** What the sync command keeps in its folder beside the blocks (its lock, state, temporary blocks): never restored. */
const SYNC_OWN = /^\.prombackup/;

/**
 * A folder of blocks as `sync` keeps it (or any TSDB folder): the same rules as an archive's
 * entries, checked with lstat so that a link is refused rather than followed.
 */
export class FolderSource implements RestoreSource {
  readonly archive = false;

  constructor(readonly path: string) {}

  /** A shared hold on the sync lock: restores read together, a sync neither runs nor starts meanwhile. */
  lock(): Promise<HeldLock | undefined> {
    return lockDirForReading(this.path);
  }

  async list(hashBlocks: Set<string>, _sha256: boolean, signal: AbortSignal) {
    const blocks: ArchivedBlock[] = [];
    const skipped: string[] = [];
    const hashes = new Map<string, Map<string, string>>();
    let bytes = 0;
    for (const name of (await fs.readdir(this.path)).sort()) {
      signal.throwIfAborted();
      if (SYNC_OWN.test(name)) continue;
      const block = await this.readBlock(name, skipped).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'ENOENT' ? new ArchiveError(`${err.path} vanished while restore read ${this.path} (another program is changing it); nothing was restored`) : err;
      });
      if (!block) continue;
      blocks.push(block);
      bytes += block.bytes;
      if (hashBlocks.has(block.ulid)) {
        const map = new Map<string, string>();
        for (const f of block.files) map.set(f.path, await sha256OfFile(path.join(this.path, block.ulid, f.path)));
        hashes.set(block.ulid, map);
      }
    }
    return { listing: { blocks, skipped: skipped.sort(), bytes } satisfies SourceListing, hashes };
  }

  /** The block in folder `name`, or undefined for a name Prometheus keeps beside blocks (noted in `skipped`). */
  private async readBlock(name: string, skipped: string[]): Promise<ArchivedBlock | undefined> {
    const files: BlockFile[] = [];
    const visit = async (parts: string[]): Promise<void> => {
      const abs = path.join(this.path, ...parts);
      const stats = await fs.lstat(abs);
      const shown = parts.join('/');
      if (!stats.isFile() && !stats.isDirectory()) throw new ArchiveError(`${JSON.stringify(shown)} in ${this.path}: not a regular file or folder; only those are restored`);
      const place = placeEntry(parts, stats.isDirectory() ? 'directory' : 'file', shown);
      if (place.kind === 'skipped') return void skipped.push(place.top);
      if (place.kind === 'block-file') files.push({ path: place.file, size: stats.size, mtimeMs: stats.mtimeMs });
      if (stats.isDirectory()) for (const child of (await fs.readdir(abs)).sort()) await visit([...parts, child]);
    };
    try {
      await visit([name]);
    } catch (err) {
      if (err instanceof BlockEntryError) throw new ArchiveError(`${(err as Error).message} in ${this.path}`);
      throw err;
    }
    if (skipped.includes(name)) return undefined;
    const metaFile = path.join(this.path, name, 'meta.json');
    const listed = files.find((f) => f.path === 'meta.json');
    // By its listed size first: reading a huge (or sparse) one whole would fill memory, or fail past 2 GiB.
    if (listed && listed.size > MAX_META_BYTES) throw new ArchiveError(`${metaFile} is larger than any meta.json`);
    const metaJson = listed ? await fs.readFile(metaFile) : undefined;
    if (metaJson && metaJson.length > MAX_META_BYTES) throw new ArchiveError(`${metaFile} is larger than any meta.json`);
    let meta;
    try {
      meta = metaJson && parseBlockMeta(metaJson, name);
    } catch (err) {
      throw new ArchiveError(`${(err as Error).message} (in ${this.path})`);
    }
    return completeBlock(name, { files, metaJson, meta });
  }

  async copy(listing: SourceListing, chosen: Set<string>, staging: BlockStaging, signal: AbortSignal): Promise<void> {
    for (const block of listing.blocks.filter((b) => chosen.has(b.ulid))) {
      for (const file of block.files) {
        signal.throwIfAborted();
        const source = path.join(this.path, block.ulid, file.path);
        const vanished = (err: NodeJS.ErrnoException) => {
          throw err.code === 'ENOENT' && err.path === source ? new ArchiveError(`${source} vanished since it was checked; nothing more is restored from ${this.path}`) : err;
        };
        const stats = await fs.lstat(source).catch(vanished);
        if (!stats.isFile() || stats.size !== file.size) throw new ArchiveError(`${source} changed since it was checked; nothing more is restored from ${this.path}`);
        await staging.copy(block.ulid, block.files.length, file.path, source, file.mtimeMs).catch(vanished);
      }
    }
  }
}
