import { parseArchiveFileName, snapshotTime } from '@prombackup/contract';
import { checksumFileFor } from '../checksum-file';
import { type KeepReason, type RetentionPolicy, applyRetention } from '../retention-policy';
import { BLOCKS_DIR, type StoredBlock, blockKeyOwner, markerKey } from './bucket-layout';
import type { ListedObject, SyncBucket } from './sync-bucket';

/** An unreferenced block object younger than this may belong to a sync still under way, and stays. */
export const RECENT_MS = 60 * 60 * 1000;

export type ObjectOutcome = 'kept' | 'removed' | 'would-remove';

export interface ForgottenItem {
  /** The key (an archive, or a manifest). */
  key: string;
  snapshot_name: string;
  time: string;
  size: number;
  /** An archive's KEY.sha256, when there is one. */
  checksum_key: string | null;
  action: 'keep' | 'remove';
  reasons: KeepReason[];
  outcome: ObjectOutcome;
}

export interface BucketForgetResult {
  target: string;
  dry_run: boolean;
  policy: RetentionPolicy;
  archives: ForgottenItem[];
  manifests: ForgottenItem[];
  /** Block files and markers under PREFIX/blocks/. */
  block_objects: { kept: number; removed: number; removed_bytes: number; recent_left: number };
  kept: number;
  removed: number;
}

/**
 * Retention under s3://BUCKET/PREFIX/: the archives create wrote there (KEY and KEY.sha256), and
 * the manifests of a sync prefix; each set judged by the policy on its own. Block objects go
 * last, and only those no kept manifest names: first markers (so that no marker outlives its
 * files), then files. Unreferenced objects younger than an hour stay unless a removed manifest
 * named them, as a sync may be uploading them. Kept manifests are all read before anything is
 * deleted, so one that cannot be read stops the run with nothing removed.
 */
/** Lets a run holding the prefix's lock stop removing: once `signal` aborts, or when confirm() throws (checked before the first removal and every CONFIRM_MS). */
export interface RemovalGuard {
  signal: AbortSignal;
  confirm(): Promise<void>;
}
const CONFIRM_MS = 30_000;

export async function forgetInBucket(bucket: SyncBucket, policy: RetentionPolicy, dryRun: boolean, guard?: RemovalGuard): Promise<BucketForgetResult> {
  const result: BucketForgetResult = { target: bucket.url(), dry_run: dryRun, policy, archives: [], manifests: [], block_objects: { kept: 0, removed: 0, removed_bytes: 0, recent_left: 0 }, kept: 0, removed: 0 };
  const top = (await bucket.list('')).filter((o) => !o.key.slice(bucket.prefix.length).includes('/'));
  const names = new Set(top.map((o) => o.key));
  const archives = top.flatMap((o) => {
    const parsed = parseArchiveFileName(o.key.slice(bucket.prefix.length), { zoned: true });
    const time = parsed && snapshotTime(parsed.snapshotName);
    return parsed && time ? [{ name: o.key, snapshotName: parsed.snapshotName, time, object: o }] : [];
  });
  let confirmed = 0;
  const remove = async (key: string): Promise<ObjectOutcome> => {
    if (dryRun) return 'would-remove';
    if (guard?.signal.aborted) throw new Error(`stopped; ${result.removed} objects were removed before this, nothing after`);
    if (guard && Date.now() - confirmed > CONFIRM_MS) {
      await guard.confirm();
      confirmed = Date.now();
    }
    await bucket.delete(key);
    result.removed++;
    return 'removed';
  };

  const manifests = (await bucket.manifests()).flatMap((m) => {
    const time = snapshotTime(m.snapshotName);
    return time ? [{ name: m.key, snapshotName: m.snapshotName, time }] : [];
  });
  const manifestDecisions = applyRetention(manifests, policy);
  const named = new Set<string>();
  const namedByRemoved = new Set<string>();
  for (const { item, keep } of manifestDecisions) {
    const read = bucket.readManifest(item.name);
    // A kept manifest must be read; a removed one only tells which objects may go at once.
    const manifest = keep ? await read : await read.catch(() => undefined);
    for (const block of manifest?.blocks ?? []) for (const key of keysOf(block)) (keep ? named : namedByRemoved).add(key);
  }

  for (const { item, keep, reasons } of applyRetention(archives, policy)) {
    const checksumKey = checksumFileFor(item.name);
    const entry: ForgottenItem = { key: item.name, snapshot_name: item.snapshotName, time: item.time.toISOString(), size: item.object.size, checksum_key: names.has(checksumKey) ? checksumKey : null, action: keep ? 'keep' : 'remove', reasons, outcome: 'kept' };
    if (keep) result.kept++;
    else {
      // Archive first, then its checksum: an interruption leaves an orphan checksum, never an unverifiable archive.
      entry.outcome = await remove(item.name);
      if (entry.checksum_key) await remove(entry.checksum_key);
    }
    result.archives.push(entry);
  }

  for (const { item, keep, reasons } of manifestDecisions) {
    const entry: ForgottenItem = { key: item.name, snapshot_name: item.snapshotName, time: item.time.toISOString(), size: 0, checksum_key: null, action: keep ? 'keep' : 'remove', reasons, outcome: 'kept' };
    if (keep) result.kept++;
    else entry.outcome = await remove(item.name);
    result.manifests.push(entry);
  }
  if (manifests.length > 0) await removeBlockObjects(bucket, named, namedByRemoved, remove, result);
  return result;
}

async function removeBlockObjects(
  bucket: SyncBucket,
  named: Set<string>,
  namedByRemoved: Set<string>,
  remove: (key: string) => Promise<ObjectOutcome>,
  result: BucketForgetResult,
): Promise<void> {
  const objects = await bucket.list(BLOCKS_DIR);
  // Ages by the store's clock, which wrote the objects' times.
  const now = bucket.storeNow();
  const relative = (o: ListedObject) => o.key.slice(bucket.prefix.length);
  const going: ListedObject[] = [];
  for (const object of objects) {
    const key = relative(object);
    if (!blockKeyOwner(key) || named.has(key)) result.block_objects.kept++;
    else if (!namedByRemoved.has(key) && now - object.lastModified.getTime() < RECENT_MS) result.block_objects.recent_left++;
    else going.push(object);
  }
  const markersFirst = going.sort((a, b) => Number(blockKeyOwner(relative(b))!.marker) - Number(blockKeyOwner(relative(a))!.marker));
  for (const object of markersFirst) {
    await remove(object.key);
    result.block_objects.removed++;
    result.block_objects.removed_bytes += object.size;
  }
}

/** The keys (relative to PREFIX) a manifest's block entry needs: its files and its marker. */
function keysOf(block: StoredBlock): string[] {
  return [...block.files.map((f) => f.key), markerKey(block.ulid, block.files)];
}
