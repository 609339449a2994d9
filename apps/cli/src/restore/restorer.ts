import fs from 'node:fs/promises';
import path from 'node:path';
import type { BlockMeta } from '../tsdb';
import { BlockStaging } from './block-staging';
import { type Overlap, findOverlaps, inRange, prometheusCommand, retentionDays } from './restore-plan';
import type { RestoreSource } from './restore-source';
import { type LocalBlock, blockDifference, blockHashes, localBlocks } from './tsdb-blocks';
import { type HeldLock, TsdbBusyError, lockTsdb, processesUsing } from './tsdb-lock';

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
  seconds: number;
  retention_days: number | null;
  prometheus_command: string | null;
}

/** A block already in TSDB_DIR differs from the backup's block of the same ULID. */
export class BlockConflictError extends Error {}

/**
 * Puts the blocks of a backup into a TSDB folder: reads and checks the whole source first
 * (entries, SHA-256, blocks already there) without writing, then takes Prometheus' lock and writes
 * each block through BlockStaging. stop() undoes an unfinished run.
 */
export class Restorer {
  private readonly abort = new AbortController();
  private lock?: HeldLock;
  private staging?: BlockStaging;

  constructor(private readonly o: RestoreOptions) {}

  get placed(): string[] {
    return this.staging?.placed ?? [];
  }

  async run(): Promise<RestoreResult> {
    const started = Date.now();
    const { source, to, note } = this.o;
    const exists = await fs.stat(to).then((s) => {
      if (!s.isDirectory()) throw new Error(`--to ${to} is not a folder`);
      return true;
    }, () => false);
    try {
      if (exists && (await fs.lstat(path.join(to, 'lock')).then(() => true, () => false))) this.lock = await lockTsdb(to);
      if (exists) await this.refuseIfUsed();
      const existing = await localBlocks(to);
      const byUlid = new Map(existing.map((b) => [b.ulid, b]));

      const isArchive = source.archive;
      const expected = isArchive && this.o.verify ? await source.checksum?.() : undefined;
      const { listing, hashes } = await source.list(new Set(byUlid.keys()), expected !== undefined, this.abort.signal);
      if (expected !== undefined && listing.sha256 !== expected) {
        throw new Error(`${source.path}: SHA-256 mismatch: the file hashes to ${listing.sha256}, ${source.path}.sha256 says ${expected}; nothing was restored`);
      }
      if (listing.blocks.length === 0) throw new Error(`${source.path} holds no blocks; nothing was restored`);
      if (listing.skipped.length > 0) note(`left out: ${listing.skipped.join(', ')} (what Prometheus keeps beside its blocks, not blocks)`);

      const chosen = listing.blocks.filter((b) => inRange(b.meta, this.o.from, this.o.until));
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
        seconds: (Date.now() - started) / 1000,
        retention_days: days,
        prometheus_command: days === null ? null : prometheusCommand(to, days),
      };
    } finally {
      await this.stop();
    }
  }

  /** Pass 2: the checked blocks into hidden folders, each renamed into place once complete and synced. */
  private async write(listing: Awaited<ReturnType<RestoreSource['list']>>['listing'], chosen: Set<string>): Promise<void> {
    const { to, note } = this.o;
    await fs.mkdir(to, { recursive: true });
    this.lock ??= await lockTsdb(to);
    await this.refuseIfUsed();
    for (const stale of await BlockStaging.removeStale(to)) note(`removed ${stale}, left by an interrupted restore`);
    this.staging = new BlockStaging(to);
    await this.o.source.copy(listing, chosen, this.staging, this.abort.signal);
    await this.staging.settle();
  }

  private async refuseIfUsed(): Promise<void> {
    const users = await processesUsing(this.o.to, this.lock ? [this.lock.pid] : []);
    if (users.length > 0) throw new TsdbBusyError(`${this.o.to} is in use: ${users.join('; ')}; stop Prometheus first`);
  }

  private async differenceFrom(local: LocalBlock, incoming: Map<string, string>): Promise<string | undefined> {
    if (!local.meta) return 'its meta.json cannot be read';
    return blockDifference(await blockHashes(local.dir), incoming);
  }

  /** Removes unfinished temporary folders and lets go of the lock; safe to call twice. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.staging?.discard();
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  /** stop() for a process about to exit. */
  stopNow(): void {
    this.staging?.discardNow();
    this.lock?.releaseNow();
  }
}
