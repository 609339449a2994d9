import { Injectable, type OnModuleInit } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { SnapshotReadError } from './snapshot-errors';
import { type SnapshotFolder, SnapshotStore } from './snapshot-store';

export interface SnapshotSize {
  /** Bytes of its regular files, each counted in full (what an archive of it holds). */
  bytes: number;
  /** Bytes that removing it would free: files no other snapshot and nothing outside snapshot_dir links to. */
  uniqueBytes: number;
}

export interface SnapshotUsageReport {
  sizes: Map<string, SnapshotSize>;
  /** Bytes that only snapshots hold any more (Prometheus has let go of them); each file once. */
  exclusiveBytes: number;
}

/** Scrapes and page views come often; walking every snapshot is done at most this often. */
const CACHE_MS = 10_000;

interface Inode {
  size: number;
  links: number;
  /** Links seen in snapshot folders, and which snapshots they are in. */
  seen: number;
  owners: Set<string>;
}

/**
 * What snapshots cost on disk. Their files are hard links to the live TSDB's; a file costs
 * nothing extra while Prometheus still links to it, and costs its size once, however many
 * snapshots share it, after compaction or retention removed it from the live TSDB. The link
 * count tells which: links found inside snapshot_dir equal to all links means only snapshots hold it.
 */
@Injectable()
export class SnapshotUsage implements OnModuleInit {
  private cached?: { at: number; report: Promise<SnapshotUsageReport> };

  constructor(
    private readonly store: SnapshotStore,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.metrics.beforeScrape(async () => {
      const report = await this.report();
      this.metrics.snapshotsOnDisk.set(report.sizes.size);
      this.metrics.snapshotsExclusiveBytes.set(report.exclusiveBytes);
    });
  }

  /** `fresh` walks the disk now, for a person looking at the page right after a snapshot. */
  report(options: { now?: number; fresh?: boolean } = {}): Promise<SnapshotUsageReport> {
    const now = options.now ?? Date.now();
    if (!this.cached || options.fresh || now - this.cached.at >= CACHE_MS) {
      const report = this.measure();
      this.cached = { at: now, report };
      // A failed walk (snapshot_dir unreadable) is not kept: the next call tries again.
      report.catch(() => (this.cached = undefined));
    }
    return this.cached.report;
  }

  private async measure(): Promise<SnapshotUsageReport> {
    const inodes = new Map<string, Inode>();
    const sizes = new Map<string, SnapshotSize>();
    for (const folder of await this.store.folders({ zonedNames: true })) {
      const bytes = await this.walk(folder, inodes);
      if (bytes !== undefined) sizes.set(folder.name, { bytes, uniqueBytes: 0 });
    }
    let exclusiveBytes = 0;
    for (const inode of inodes.values()) {
      if (inode.seen < inode.links) continue; // the live TSDB (or something else) still links to it
      exclusiveBytes += inode.size;
      if (inode.owners.size === 1) sizes.get([...inode.owners][0])!.uniqueBytes += inode.size;
    }
    return { sizes, exclusiveBytes };
  }

  /** Adds a snapshot's files to `inodes`; its apparent size, or undefined when it vanished meanwhile. */
  private async walk(folder: SnapshotFolder, inodes: Map<string, Inode>): Promise<number | undefined> {
    let tree;
    try {
      tree = await this.store.openTree(folder);
    } catch (err) {
      if (err instanceof SnapshotReadError && err.code === 'ENOENT') return undefined; // pruned while we looked
      throw err;
    }
    try {
      let bytes = 0;
      for (const entry of await tree.list(true)) {
        if (entry.kind !== 'file') continue;
        const size = Number(entry.stats.size);
        bytes += size;
        const key = `${entry.stats.dev}:${entry.stats.ino}`;
        const inode = inodes.get(key) ?? { size, links: Number(entry.stats.nlink), seen: 0, owners: new Set<string>() };
        inode.seen++;
        inode.owners.add(folder.name);
        inodes.set(key, inode);
      }
      return bytes;
    } finally {
      await tree.close();
    }
  }
}
