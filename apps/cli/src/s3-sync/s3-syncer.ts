import type { BlockDto, PrombackupClient } from '@prombackup/client';
import type { ArchiveFormat } from '@prombackup/contract';
import { Progress } from '../progress';
import { runBlockPool } from '../sync/block-pool';
import type { LocalBlock } from '../sync/local-blocks';
import { type SyncPlan, planSync } from '../sync/sync-plan';
import type { SyncTarget } from '../sync/sync-target';
import { type SyncTallies, SyncStopped } from '../sync/syncer';
import { BLOCKS_DIR, type StoredBlock, manifestKey, markerKey, parseMarker, serializeManifest } from './bucket-layout';
import { uploadBlock } from './block-upload';
import type { PrefixLock } from './prefix-lock';
import { type SyncBucket, blocksByUlid } from './sync-bucket';

/** How long an interrupted sync waits for its blocks' uploads to be aborted. */
const STOP_WAIT_MS = 7_000;

const tally = (items: readonly { bytes: number }[]) => ({ blocks: items.length, bytes: items.reduce((s, i) => s + i.bytes, 0) });

/**
 * sync into s3://BUCKET/PREFIX: each block's files stored once under PREFIX/blocks/ULID/, a
 * marker per block once all its files are there, and a manifest per sync, written last, naming
 * every block of the snapshot. A block counts as present only when the newest manifest or a marker
 * names it and every file it names is in the bucket with its size.
 */
export class S3Syncer implements SyncTarget {
  private readonly cancel = new AbortController();
  private stopping = false;
  private received = 0;
  private running?: Promise<unknown>;
  /** The blocks present in the bucket, from the newest manifest and markers, as plan() found them. */
  private present = new Map<string, StoredBlock>();
  /** Files in the bucket, by key relative to PREFIX, with their sizes. */
  private objects = new Map<string, number>();

  constructor(
    private readonly api: PrombackupClient,
    private readonly bucket: SyncBucket,
    private readonly options: { format: ArchiveFormat; parallel: number },
    private readonly lock: PrefixLock,
  ) {}

  get where(): string {
    return this.bucket.url();
  }

  /** Multipart uploads under PREFIX/blocks/ that a sync killed outright left pending (the prefix's lock keeps other syncs out). */
  async clearLeftovers(): Promise<string[]> {
    // Uploads are dated by the store's clock, which its Date header gives in whole seconds; this run has started none yet.
    const aborted = await this.bucket.abortPendingUploads(BLOCKS_DIR, new Date(this.bucket.storeNow() + 2000));
    return aborted.map((key) => `aborted the unfinished upload of ${this.bucket.url(key)}, left behind by a sync that did not end`);
  }

  async plan(blocks: readonly BlockDto[], unlisted: readonly string[] = []): Promise<SyncPlan> {
    await this.readObjects();
    const manifests = await this.bucket.manifests();
    const newest = manifests.length > 0 ? await this.bucket.readManifest(manifests[manifests.length - 1].key) : undefined;
    const present = blocksByUlid(newest);
    for (const block of blocks) {
      const marker = markerKey(block.ulid, block.files);
      if (this.complete(present.get(block.ulid)) && sameFiles(present.get(block.ulid)!, block)) continue;
      if (!this.objects.has(marker)) continue;
      const text = await this.bucket.getText(this.bucket.prefix + marker);
      try {
        if (text !== undefined) present.set(block.ulid, parseMarker(text, block.ulid, this.bucket.url(this.bucket.prefix + marker)));
      } catch {
        // A damaged marker proves nothing: the block is uploaded again and the marker rewritten.
      }
    }
    this.present = present;
    const local = new Map<string, LocalBlock>();
    for (const [ulid, stored] of present) {
      // A block with a file missing from the bucket is not the same: it is uploaded again (its files still there are kept).
      const files = stored.files.filter((f) => this.objects.get(f.key) === f.size).map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtime_ms }));
      local.set(ulid, { ulid, files, odd: [], bytes: stored.bytes });
    }
    return planSync(blocks, local, unlisted);
  }

  async apply(snapshot: string, blocks: readonly BlockDto[], plan: SyncPlan): Promise<SyncTallies & { manifest: string }> {
    const byUlid = new Map(blocks.map((b) => [b.ulid, b]));
    const entries = new Map<string, StoredBlock>();
    for (const { ulid } of plan.keep) entries.set(ulid, this.present.get(ulid)!);
    const count = plan.fetch.length;
    const progress = count > 0 ? new Progress(`${count} block${count === 1 ? '' : 's'}`, () => this.received, process.stderr, { bytes: tally(plan.fetch).bytes, estimate: this.options.format !== 'tar' }) : undefined;
    let archiveBytes = 0;
    let uploadedBytes = 0;
    let failure: Error | undefined;
    try {
      const running = runBlockPool(plan.fetch, this.options.parallel, () => this.stopping, async ({ ulid }) => {
        try {
          const stored = this.present.get(ulid)?.files.filter((f) => this.objects.get(f.key) === f.size);
          const done = await uploadBlock(this.api, this.bucket, byUlid.get(ulid)!, {
            snapshot,
            format: this.options.format,
            stored,
            signal: this.cancel.signal,
            onBytes: (n) => (this.received += n),
          });
          entries.set(ulid, done.block);
          archiveBytes += done.archiveBytes;
          uploadedBytes += done.uploadedBytes;
        } catch (err) {
          throw this.stopping ? new SyncStopped('stopped') : new Error(`block ${ulid}: ${(err as Error).message}`);
        }
      });
      this.running = running;
      failure = await running;
    } finally {
      progress?.done();
    }
    if (failure) throw failure;
    if (this.stopping) throw new SyncStopped('stopped');
    const named = [...entries.values()].sort((a, b) => (a.ulid < b.ulid ? -1 : 1));
    await this.checkStillThere(named, plan);
    const key = manifestKey(this.bucket.prefix, snapshot);
    await this.lock.confirm();
    await this.bucket.putJson(key, serializeManifest(snapshot, named), true);
    return {
      transferred: { ...tally(plan.fetch), archive_bytes: archiveBytes },
      uploaded_bytes: uploadedBytes,
      kept: tally(plan.keep),
      removed: { blocks: 0, bytes: 0 },
      left: tally(plan.remove),
      total: tally(blocks),
      tombstones_replaced: plan.fetch.filter((b) => b.action === 'tombstones').length,
      replaced: plan.fetch.filter((b) => b.action === 'replace').length,
      manifest: this.bucket.url(key),
    };
  }

  /** Before the manifest: every kept block's files must still be there (a forget run meanwhile would have removed them). */
  private async checkStillThere(named: StoredBlock[], plan: SyncPlan): Promise<void> {
    if (plan.keep.length === 0) return;
    await this.readObjects();
    const kept = new Set(plan.keep.map((k) => k.ulid));
    for (const block of named) {
      if (!kept.has(block.ulid)) continue;
      const missing = block.files.find((f) => this.objects.get(f.key) !== f.size);
      if (missing) throw new Error(`${this.bucket.url(this.bucket.prefix + missing.key)} went away during the sync (a forget at the same time?); no manifest was written, run sync again`);
    }
  }

  private async readObjects(): Promise<void> {
    const prefixLength = this.bucket.prefix.length;
    this.objects = new Map((await this.bucket.list(BLOCKS_DIR)).map((o) => [o.key.slice(prefixLength), o.size]));
  }

  private complete(block: StoredBlock | undefined): boolean {
    return block !== undefined && block.files.every((f) => this.objects.get(f.key) === f.size);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.cancel.abort();
    // Each block's uploads are aborted by uploadBlock as its download fails; one waiting for its
    // status is aborted when that comes, and may outlive the process (its upload then stays pending
    // until the next sync aborts it).
    await Promise.race([this.running?.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
    await this.releaseLock();
  }

  async close(): Promise<void> {
    await this.releaseLock();
    this.bucket.client.destroy();
  }

  /** No time to remove the lock: it stays, and goes stale as no one renews it. */
  closeNow(): void {
    this.lock.stopRenewing();
    this.bucket.client.destroy();
  }

  private async releaseLock(): Promise<void> {
    const warning = await this.lock.release();
    if (warning) process.stderr.write(`prombackup: ${warning}\n`);
  }
}

function sameFiles(stored: StoredBlock, block: BlockDto): boolean {
  return stored.files.length === block.files.length && block.files.every((f) => stored.files.some((s) => s.path === f.path && s.size === f.size && s.mtime_ms === f.mtime_ms));
}
