import fs from 'node:fs/promises';
import path from 'node:path';
import { type BlockMeta, type HeldLock, PROMETHEUS_LOCK_FILE, type TsdbBlock, blockDifference, blockHashes, lockTsdb, readTsdbBlocks, refuseIfInUse } from '../tsdb';
import { BesideStaging } from './beside-staging';
import { BlockStaging } from './block-staging';
import { type Overlap, findOverlaps, inRange, prometheusCommand, retentionDays } from './restore-plan';
import { FolderSource } from './folder-source';
import type { Listed, RestoreSource } from './restore-source';

export interface RestoreOptions {
  source: RestoreSource;
  to: string;
  /** Check the archive against SOURCE.sha256 when there is one. */
  verify: boolean;
  from?: number;
  until?: number;
  /** One line of progress or findings for the operator. */
  note(line: string): void;
}

export interface RestoreResult {
  source: string;
  to: string;
  /** 'verified' against SOURCE.sha256, 'absent' (no such file), 'skipped' (--no-verify), 'none' (a folder). */
  checksum: 'verified' | 'absent' | 'skipped' | 'none';
  sha256: string | null;
  blocks_restored: string[];
  blocks_skipped: { ulid: string; reason: string }[];
  blocks_outside_range: string[];
  blocks_overlapping: Overlap[];
  /** Top-level names of the source that are not blocks and were left out (wal, chunks_head…). */
  left_out: string[];
  /** Bytes of the restored blocks' files. */
  bytes: number;
  /** Times the source was read: 1, or 2 for an archive that could not be extracted beside TSDB_DIR (checked first, then written). */
  passes: 1 | 2;
  seconds: number;
  retention_days: number | null;
  prometheus_command: string | null;
}

/** A block already in TSDB_DIR differs from the backup's block of the same ULID. */
export class BlockConflictError extends Error {}

/**
 * Puts the blocks of a backup into a TSDB folder, writing nothing into it before the whole source
 * checked out (entries, SHA-256, blocks already there). An archive is read once, its blocks
 * extracted into a hidden folder beside TSDB_DIR and renamed in at the end; where that cannot be
 * (TSDB_DIR is a mount point), it is read twice: checked first, then written through BlockStaging.
 * stop() undoes an unfinished run.
 */
export class Restorer {
  private readonly abort = new AbortController();
  private lock?: HeldLock;
  /** The source's own lock (a sync folder's), held from before the first read to the end. */
  private sourceLock?: HeldLock;
  private staging?: BlockStaging;
  private beside?: BesideStaging;

  constructor(private readonly o: RestoreOptions) {}

  get placed(): string[] {
    return this.beside?.placed ?? this.staging?.placed ?? [];
  }

  async run(): Promise<RestoreResult> {
    const started = Date.now();
    const { source, to, note } = this.o;
    const exists = await fs.stat(to).then((s) => {
      if (!s.isDirectory()) throw new Error(`--to ${to} is not a folder`);
      return true;
    }, () => false);
    try {
      this.sourceLock = await source.lock?.();
      if (exists && (await fs.lstat(path.join(to, PROMETHEUS_LOCK_FILE)).then(() => true, () => false))) this.lock = await lockTsdb(to, { by: 'restore' });
      if (exists) await refuseIfInUse(to, this.heldFiles());
      const { blocks: byUlid, notFolders } = await readTsdbBlocks(to);
      const existing = [...byUlid.values()];

      const isArchive = source.archive;
      const expected = isArchive && this.o.verify ? await source.checksum?.() : undefined;
      const { listing, hashes } = await this.read(new Set(byUlid.keys()), expected !== undefined);
      if (expected !== undefined && listing.sha256 !== expected) {
        throw new Error(`${source.path}: SHA-256 mismatch: the file hashes to ${listing.sha256}, ${source.path}.sha256 says ${expected}; nothing was restored`);
      }
      if (listing.blocks.length === 0) throw new Error(`${source.path} holds no blocks; nothing was restored`);
      if (listing.skipped.length > 0) note(`left out: ${listing.skipped.join(', ')} (what Prometheus keeps beside its blocks, not blocks)`);

      const chosen = listing.blocks.filter((b) => inRange(b.meta, this.o.from, this.o.until));
      const taken = chosen.find((b) => notFolders.includes(b.ulid));
      if (taken) throw new BlockConflictError(`${path.join(to, taken.ulid)} is already there and is not a folder; it is never replaced: move it away first. Nothing was restored`);
      const outside = listing.blocks.filter((b) => !chosen.includes(b)).map((b) => b.ulid);
      const skipped: RestoreResult['blocks_skipped'] = [];
      for (const block of chosen.filter((b) => byUlid.has(b.ulid))) {
        const difference = await this.differenceFrom(byUlid.get(block.ulid)!, hashes.get(block.ulid) ?? new Map());
        if (difference) throw new BlockConflictError(`block ${block.ulid} is already in ${to} and differs (${difference}); it is never replaced: move it away first if the backup's copy should win. Nothing was restored`);
        skipped.push({ ulid: block.ulid, reason: 'already there, identical' });
        note(`skipped ${block.ulid}: already in ${to}, identical`);
      }
      const toWrite = chosen.filter((b) => !byUlid.has(b.ulid));
      const existingMetas = existing.map((b) => b.meta).filter((m): m is BlockMeta => m !== undefined);
      const overlapping = findOverlaps(toWrite.map((b) => b.meta), existingMetas);
      for (const o of overlapping) {
        note(`${o.ulid} shares time with ${o.with.join(', ')} already in ${to}: Prometheus 2.39 and later merge overlapping blocks at its next compaction; before 2.39 it starts only with --storage.tsdb.allow-overlapping-blocks`);
      }

      if (toWrite.length > 0) await this.write(listing, new Set(toWrite.map((b) => b.ulid)));
      const all = [...toWrite.map((b) => b.meta), ...existingMetas];
      const days = all.length > 0 ? retentionDays(Math.min(...all.map((m) => m.minTime))) : null;
      return {
        source: source.path,
        to,
        checksum: !isArchive ? 'none' : !this.o.verify ? 'skipped' : expected === undefined ? 'absent' : 'verified',
        sha256: listing.sha256 ?? null,
        blocks_restored: toWrite.map((b) => b.ulid),
        blocks_skipped: skipped,
        blocks_outside_range: outside,
        blocks_overlapping: overlapping,
        left_out: listing.skipped,
        bytes: toWrite.reduce((sum, b) => sum + b.bytes, 0),
        // A folder is listed, then copied: its data is read once.
        passes: this.beside || source instanceof FolderSource ? 1 : 2,
        seconds: (Date.now() - started) / 1000,
        retention_days: days,
        prometheus_command: days === null ? null : prometheusCommand(to, days),
      };
    } finally {
      await this.stop();
    }
  }

  /** Reads and checks the whole source: at once extracting it beside TSDB_DIR where it can, otherwise only listing it. */
  private async read(hashBlocks: Set<string>, sha256: boolean): Promise<Listed> {
    const { source, to, note } = this.o;
    if (!source.extract) return source.list(hashBlocks, sha256, this.abort.signal);
    for (const stale of await BesideStaging.removeStale(to)) note(`removed ${stale}, left by an interrupted restore`);
    const beside = await BesideStaging.open(to);
    if ('reason' in beside) {
      note(`${to}: ${beside.reason}; so ${source.path} is read twice: checked whole first, then extracted into ${to}`);
      return source.list(hashBlocks, sha256, this.abort.signal);
    }
    this.beside = beside;
    const wanted = (meta: BlockMeta) => inRange(meta, this.o.from, this.o.until) && !hashBlocks.has(meta.ulid);
    return source.extract(hashBlocks, sha256, beside, wanted, this.abort.signal);
  }

  /** The checked blocks into TSDB_DIR: renamed in from beside it, or written now through hidden folders inside it (pass 2). */
  private async write(listing: Listed['listing'], chosen: Set<string>): Promise<void> {
    const { to, note } = this.o;
    await fs.mkdir(to, { recursive: true });
    this.lock ??= await lockTsdb(to, { by: 'restore' });
    await refuseIfInUse(to, this.heldFiles());
    for (const stale of await BlockStaging.removeStale(to)) note(`removed ${stale}, left by an interrupted restore`);
    if (this.beside) return this.beside.place([...chosen]);
    this.staging = new BlockStaging(to);
    await this.o.source.copy(listing, chosen, this.staging, this.abort.signal);
    await this.staging.settle();
  }

  /** Our own lock files (TSDB_DIR's, and the source's, which may lie inside it), which our flock processes hold open. */
  private heldFiles(): { files: string[] } {
    return { files: [...(this.lock?.files ?? []), ...(this.sourceLock?.files ?? [])] };
  }

  private async differenceFrom(local: TsdbBlock, incoming: Map<string, string>): Promise<string | undefined> {
    if (!local.meta) return 'its meta.json cannot be read';
    return blockDifference(await blockHashes(local), incoming);
  }

  /** Removes unfinished temporary folders and lets go of the lock; safe to call twice. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.staging?.discard();
    await this.beside?.discard();
    // Folders of ours that a stop caught while they were being made, before their owner knew them.
    this.removeOwnNow();
    const locks = [this.lock, this.sourceLock];
    this.lock = this.sourceLock = undefined;
    for (const lock of locks) await lock?.release();
  }

  private removeOwnNow(): void {
    BlockStaging.removeOwnNow(this.o.to);
    BesideStaging.removeOwnNow(this.o.to);
  }

  /** stop() for a process about to exit. */
  stopNow(): void {
    this.staging?.discardNow();
    this.beside?.discardNow();
    this.removeOwnNow();
    this.lock?.releaseNow();
    this.sourceLock?.releaseNow();
  }
}
